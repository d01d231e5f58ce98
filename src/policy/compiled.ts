// Compiled policy: the form rules read on the request path. Built once when a policy
// changes (from a CRD object, a YAML file or the built-in default), never per request.

import type { KeyObject } from 'node:crypto';
import type { PolicyCompiler } from './compiler.ts';
import type { CompiledGlob } from './glob.ts';
import type { ImageIndex } from './image-index.ts';
import type { Labels } from './selector.ts';
import type { ApprovalTrust } from '../attestation/approval.ts';

/** What a policy does with a request it would refuse: deny it, allow it with a warning, or allow and record it. */
export type Enforcement = 'Enforce' | 'Warn' | 'Audit';

export type LockedOperation = 'UPDATE' | 'DELETE';

export interface SubjectSet {
  /** Usernames, service accounts included as `system:serviceaccount:<ns>:<name>`. */
  users: ReadonlySet<string>;
  groups: ReadonlySet<string>;
}

/** What a policy's match is tested against. */
export interface MatchTarget {
  group: string;
  kind: string;
  /** Undefined for cluster-scoped objects. */
  namespace?: string;
  objectLabels: Labels;
  /** Labels of the object's namespace; undefined when they could not be read. */
  namespaceLabels: Labels | undefined;
}

/** `unknown`: the policy selects namespaces by label and the labels could not be read. */
export type MatchResult = 'match' | 'no-match' | 'unknown';

/** Identity of the source object, for messages, caches and status. */
export interface PolicySource {
  name: string;
  uid: string;
  resourceVersion: string;
  generation: number;
}

export interface UnlockRules {
  approvalsRequired: number;
  /** Approvals a rollback to an earlier sealed state needs; absent: approvalsRequired. */
  rollbackApprovals?: number;
  approverGroups: ReadonlySet<string>;
  /** Users who may approve whatever their groups (the policy admins configured by name). */
  approverUsers?: ReadonlySet<string>;
  maxDurationMs: number;
  /** Set when only the requester (and these users and groups) may use an approved unlock. */
  requesterOnly?: SubjectSet;
  /** Set when the policy allows emergency unlocks (UnlockRequest spec.emergency). */
  emergency?: EmergencyRules;
}

export interface EmergencyRules {
  approvalsRequired: number;
  /** The requester's own approval counts. */
  selfApproval: boolean;
  maxDurationMs: number;
  reviewsRequired: number;
  reviewWithinMs: number;
}

/** The approvals a rollback to an earlier sealed state needs under these rules. */
export const rollbackApprovals = (rules: UnlockRules): number => rules.rollbackApprovals ?? rules.approvalsRequired;

export interface CompiledImmutabilityPolicy extends PolicySource {
  /** (group, kind) pairs for the index; `*` is a wildcard. */
  resources: readonly { group: string; kind: string }[];
  /** Literal namespace names the policy is limited to, for the index; undefined when not limited by name alone. */
  indexNamespaces?: readonly string[];
  operations: ReadonlySet<LockedOperation>;
  /** JSON Pointers (and everything beneath them) that may change on a locked object. */
  allowedPaths: readonly string[];
  enforcement: Enforcement;
  message?: string;
  /** Subjects this policy lets through; only policy authors (cluster admins) can grant this. */
  exempt: SubjectSet;
  unlock: UnlockRules;
  /** Set on a stand-in that replaces a policy which could not be applied as written. */
  standInFor?: string;
  match(target: MatchTarget): MatchResult;
}

export type CompiledAuthority =
  | {
      name: string;
      kind: 'key';
      key: { inline: KeyObject } | { secretRef: { namespace: string; name: string; key: string } };
    }
  | { name: string; kind: 'digests'; digests: ReadonlySet<string> }
  | {
      name: string;
      kind: 'keyless';
      trustedRootRef: { namespace: string; name: string; key: string };
      identities: readonly CompiledIdentity[];
    };

/** Who may sign keylessly: the certificate's OIDC issuer and subject (email or URI), each exact or a regex. */
export interface CompiledIdentity {
  issuer: string | RegExp;
  subject: string | RegExp;
  /** As written in the policy, for messages: `issuer "x", subject ~ /y/`. */
  text: string;
}

/** A CEL condition on an attestation's predicate (policy/compile-cel.ts). */
export interface CompiledCondition {
  expression: string;
  message?: string;
  /** true, or why not (false, not a bool, an error such as a missing field). Pure. */
  evaluate(predicate: unknown, now: Date): true | string;
}

/** An attestation a digest must carry: its type, who may sign it, and conditions on its predicate. */
export interface CompiledAttestation {
  name: string;
  predicateType: string;
  /** Key and keyless authority names whose signature counts. */
  authorities: readonly string[];
  conditions: readonly CompiledCondition[];
}

export interface CompiledImagePolicy extends PolicySource {
  images: readonly CompiledGlob[];
  requireDigest: boolean;
  authorities: readonly CompiledAuthority[];
  /** How many distinct authorities must verify a digest (k of n); 1 by default. */
  threshold: number;
  /** Authority names that must verify whatever the threshold (they count toward it). */
  required: readonly string[];
  attestations: readonly CompiledAttestation[];
  registry: {
    insecure: boolean;
    caBundle?: string;
    credentialsSecretRef?: { namespace: string; name: string };
  };
  enforcement: Enforcement;
  unmatchedImages: 'Deny' | 'Allow';
  /** Set when the policy is invalid: it then denies every image it could apply to. */
  invalid?: string;
  matchNamespace(namespace: string, namespaceLabels: Labels | undefined): MatchResult;
}

/** The lock label, configurable (default `bulwark.dev/immutable: "true"`). */
export interface LockLabel {
  key: string;
  value: string;
}

/** Finds the immutability policies that can match a request without scanning all. */
export interface ImmutabilityIndex {
  lookup(group: string, kind: string, namespace: string | undefined): readonly CompiledImmutabilityPolicy[];
  readonly size: number;
}

/** A policy that failed to compile, as reported in status, logs and readiness. */
export interface PolicyProblem {
  kind: 'ImmutabilityPolicy' | 'ImagePolicy';
  name: string;
  message: string;
}

/** An immutable set of compiled policies, swapped atomically when any policy changes. */
export interface PolicySnapshot {
  lockLabel: LockLabel;
  /** Applies to a labelled object that no ImmutabilityPolicy matches. */
  defaultImmutability: CompiledImmutabilityPolicy;
  immutability: ImmutabilityIndex;
  images: readonly CompiledImagePolicy[];
  /** The same ImagePolicies, indexed by the literal prefixes of their globs. */
  imageIndex: ImageIndex;
  problems: readonly PolicyProblem[];
  /** Who may write policies (--policy-admin-groups, --policy-admin-users); nobody else can, whatever RBAC says. */
  policyAdmins: SubjectSet;
  /** False until every policy source has been read once (and again after a broken watch). */
  synced: boolean;
  /** The sources not yet read, when not synced: for the message of the denial. */
  pending: readonly string[];
  /** Those of `pending` that had been read and lost their watch for longer than the resync grace. */
  lost: readonly string[];
  /**
   * How policies and UnlockRequests are compiled (the store's own compiler): for rules that judge them at admission.
   */
  compiler: PolicyCompiler;
  /**
   * Bulwark's attestation keys: only approvals attested with one of them count. Undefined
   * until read (then no approval counts: fail closed).
   */
  attestation: ApprovalTrust;
}
