// UnlockRequest object -> the compiled form the immutability rule reads: who asked,
// who approved, for which object and operations, until when, bound to which change.

import type { FieldProblem } from '../errors.ts';
import { parseDuration } from './duration.ts';
import type { UnlockRequest } from './generated/types.ts';
import type { CrdValidator } from './schemas.ts';
import { cloneJson } from '../json/clone.ts';
import type { ApprovalContent } from '../attestation/approval.ts';

export interface UnlockTarget {
  group: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface PatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

export type UnlockOperation = 'UPDATE' | 'DELETE' | 'Unlabel';

/** One approval as stored: who, and the groups the API server reported for them when they approved. */
export interface RecordedApproval {
  user: string;
  /** Absent on approvals stored before groups were recorded: those do not count. */
  groups?: readonly string[];
  /** The approval as stored, Bulwark's attestation included: what the attestation check reads. */
  stored: ApprovalContent;
}

export interface CompiledUnlock {
  name: string;
  /** The object's uid, which approvals' attestations are bound to (absent before it is stored). */
  uid?: string;
  target: UnlockTarget;
  operations: ReadonlySet<UnlockOperation>;
  requester: string;
  /** Distinct approvers in order, the requester excluded (Bulwark refuses such approvals anyway). */
  approvers: readonly string[];
  /** The approvals of `approvers`, in the same order (the first by each user). */
  approvals: readonly RecordedApproval[];
  createdAtMs: number;
  durationMs: number;
  expiresAtMs: number;
  patch?: readonly PatchOperation[];
  /** A rollback: the UPDATE must return the object to this earlier sealed state (its content hash). */
  rollbackTo?: string;
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export type UnlockCompileResult = { ok: true; unlock: CompiledUnlock } | { ok: false; problems: FieldProblem[] };

/** `validate` is the UnlockRequest CRD's validator (see schemas.ts; policy/compiler.ts binds it). */
export function compileUnlock(raw: unknown, validate: CrdValidator): UnlockCompileResult {
  const object = cloneJson(raw) as UnlockRequest;
  const problems = validate(object);
  if (problems.length > 0) return { ok: false, problems };
  const { spec, metadata } = object;
  const durationMs = parseDuration(spec.duration);
  if (durationMs === undefined || durationMs <= 0)
    return {
      ok: false,
      problems: [
        { path: 'spec.duration', message: `${JSON.stringify(spec.duration)} is not a positive duration such as 30m` },
      ],
    };
  const createdAtMs = Date.parse((metadata?.creationTimestamp as string) ?? '');
  const approvals: RecordedApproval[] = [];
  for (const a of spec.approvals ?? []) {
    if (a.user !== spec.requester && !approvals.some((b) => b.user === a.user))
      approvals.push({ user: a.user, ...(a.groups ? { groups: a.groups } : {}), stored: a as ApprovalContent });
  }
  return {
    ok: true,
    unlock: {
      name: metadata?.name ?? '(unnamed)',
      ...(metadata?.uid ? { uid: metadata.uid } : {}),
      target: {
        group: groupOf(spec.target.apiVersion),
        kind: spec.target.kind,
        ...(spec.target.namespace ? { namespace: spec.target.namespace } : {}),
        name: spec.target.name,
      },
      operations: new Set(spec.operations),
      requester: spec.requester,
      approvers: approvals.map((a) => a.user),
      approvals,
      createdAtMs,
      durationMs,
      // Without a creation time (not yet stored) it is not in force at all.
      expiresAtMs: Number.isFinite(createdAtMs) ? createdAtMs + durationMs : Number.NEGATIVE_INFINITY,
      ...(spec.change ? { patch: spec.change.patch as PatchOperation[] } : {}),
      ...(spec.rollback ? { rollbackTo: spec.rollback.hash } : {}),
    },
  };
}
