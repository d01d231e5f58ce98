// Compiled policy: the form rules read on the request path. Built once when a policy
// changes (from a CRD, a YAML file or the built-in default), never per request.

import type { AdmissionRequest } from '../admission/types.ts';
import type { Enforcement } from '../decision/verdict.ts';

export type LockedOperation = 'UPDATE' | 'DELETE';

export interface SubjectSet {
  users: ReadonlySet<string>;
  groups: ReadonlySet<string>;
}

export interface CompiledImmutabilityPolicy {
  /** Policy name, shown in messages and audit annotations. */
  name: string;
  /** Cache and identity key: uid and resourceVersion of the source object, when it has one. */
  uid: string;
  resourceVersion: string;
  operations: ReadonlySet<LockedOperation>;
  /** JSON Pointers (and everything beneath them) that may change on a locked object. */
  allowedPaths: readonly string[];
  enforcement: Enforcement;
  message?: string;
  /** Subjects this policy lets through; only policy authors (cluster admins) can grant this. */
  exempt: SubjectSet;
  /** Whether the policy applies to the request's resource, namespace and object. */
  matches(request: AdmissionRequest): boolean;
}

/** The lock label, configurable (default `bulwark.dev/immutable: "true"`). */
export interface LockLabel {
  key: string;
  value: string;
}

/** An immutable set of compiled policies, swapped atomically when any policy changes. */
export interface PolicySnapshot {
  lockLabel: LockLabel;
  immutability: readonly CompiledImmutabilityPolicy[];
  /** False until every policy source has been read once: the webhook is not ready before. */
  synced: boolean;
}
