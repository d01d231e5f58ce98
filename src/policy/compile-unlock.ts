// UnlockRequest object -> the compiled form the immutability rule reads: who asked,
// who approved, for which object and operations, until when, bound to which change.

import type { FieldProblem } from '../errors.ts';
import { parseDuration } from './duration.ts';
import type { UnlockRequest } from './generated/types.ts';
import type { CrdValidator } from './schemas.ts';
import { cloneJson } from '../json/clone.ts';
import { firstInexactNumber, inexactNumberMessage } from './bound-change-numbers.ts';
import { isUnlockKind, type UnlockKind } from './crds.ts';
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

/** One approval (or rejection, or review) as stored: who, and the groups the API server reported for them. */
export interface RecordedApproval {
  user: string;
  /** Absent on approvals stored before groups were recorded: those do not count. */
  groups?: readonly string[];
  /** The entry as stored, Bulwark's attestation included: what the attestation check reads. */
  stored: ApprovalContent;
}

export interface CompiledUnlock {
  /** UnlockRequest (cluster-scoped) or LocalUnlockRequest (in its target's namespace). */
  kind: UnlockKind;
  name: string;
  /** A LocalUnlockRequest's own namespace, always its target's (compileUnlock refuses any other). */
  namespace?: string;
  /** The object's uid, which approvals' attestations are bound to (absent before it is stored). */
  uid?: string;
  target: UnlockTarget;
  operations: ReadonlySet<UnlockOperation>;
  requester: string;
  /** Distinct approvers in order, the requester excluded (Bulwark refuses such approvals anyway). */
  approvers: readonly string[];
  /** The approvals of `approvers`, in the same order (the first by each user). */
  approvals: readonly RecordedApproval[];
  /** Who rejected it: any rejection means it never unlocks (append-only, like approvals). */
  rejections: readonly RecordedApproval[];
  /** A ticket or incident reference, copied into audit annotations. */
  ticket?: string;
  /** An emergency unlock (spec.emergency): judged under the policies' unlock.emergency. */
  emergency: boolean;
  /** The requester's own approval, which counts only for an emergency unlock that allows self-approval. */
  selfApproval?: RecordedApproval;
  /** After-the-fact reviews of an emergency unlock (first by each user, the requester excluded). */
  reviews: readonly RecordedApproval[];
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

type StoredEntry = { user: string; groups?: string[] };

const recorded = (a: StoredEntry): RecordedApproval => ({
  user: a.user,
  ...(a.groups ? { groups: a.groups } : {}),
  stored: a as ApprovalContent,
});

/** The first entry by each user, `excluded` (the requester) left out. */
function distinctEntries(
  entries: readonly StoredEntry[] | undefined,
  excluded: string | undefined,
): RecordedApproval[] {
  const kept: RecordedApproval[] = [];
  for (const a of entries ?? [])
    if (a.user !== excluded && !kept.some((b) => b.user === a.user)) kept.push(recorded(a));
  return kept;
}

function selfApprovalOf(spec: UnlockRequest['spec']): { selfApproval?: RecordedApproval } {
  const own = spec.emergency ? (spec.approvals ?? []).find((a) => a.user === spec.requester) : undefined;
  return own ? { selfApproval: recorded(own) } : {};
}

export type UnlockCompileResult = { ok: true; unlock: CompiledUnlock } | { ok: false; problems: FieldProblem[] };

/** "UnlockRequest NAME" or "LocalUnlockRequest NAMESPACE/NAME": how messages name a request. */
export function unlockName(unlock: Pick<CompiledUnlock, 'kind' | 'name' | 'namespace'>): string {
  return `${unlock.kind} ${unlock.namespace ? `${unlock.namespace}/` : ''}${unlock.name}`;
}

/**
 * A LocalUnlockRequest's scope: its target is in its own namespace (an absent
 * spec.target.namespace means that one). Checked here, where every reader compiles it, so
 * that one stored while the webhook was away never unlocks anything in another namespace.
 */
function localScope(
  kind: UnlockKind,
  namespace: string | undefined,
  targetNamespace: string | undefined,
): { namespace?: string } | { problem: FieldProblem } {
  if (kind === 'UnlockRequest') return targetNamespace ? { namespace: targetNamespace } : {};
  if (!namespace) return { problem: { path: 'metadata.namespace', message: 'a LocalUnlockRequest has a namespace' } };
  if (targetNamespace && targetNamespace !== namespace)
    return {
      problem: {
        path: 'spec.target.namespace',
        message:
          `a LocalUnlockRequest unlocks only objects in its own namespace ${namespace}, not in ` +
          `${targetNamespace}: create it there (or an UnlockRequest)`,
      },
    };
  return { namespace };
}

/** `validate` is the UnlockRequest CRD's validator (see schemas.ts; policy/compiler.ts binds it). */
export function compileUnlock(raw: unknown, validate: CrdValidator): UnlockCompileResult {
  const object = cloneJson(raw) as UnlockRequest;
  const problems = validate(object);
  if (problems.length > 0) return { ok: false, problems };
  const { spec, metadata } = object;
  const kind = isUnlockKind((raw as { kind?: unknown })?.kind) ? (raw as { kind: UnlockKind }).kind : 'UnlockRequest';
  const scope = localScope(kind, metadata?.namespace, spec.target.namespace || undefined);
  if ('problem' in scope) return { ok: false, problems: [scope.problem] };
  const durationMs = parseDuration(spec.duration);
  if (durationMs === undefined || durationMs <= 0)
    return {
      ok: false,
      problems: [
        { path: 'spec.duration', message: `${JSON.stringify(spec.duration)} is not a positive duration such as 30m` },
      ],
    };
  const inexact = spec.change ? firstInexactNumber(spec.change.patch, 'spec.change.patch') : undefined;
  if (inexact) return { ok: false, problems: [{ path: inexact.path, message: inexactNumberMessage(inexact.literal) }] };
  const createdAtMs = Date.parse((metadata?.creationTimestamp as string) ?? '');
  const approvals = distinctEntries(spec.approvals, spec.requester);
  return {
    ok: true,
    unlock: {
      kind,
      name: metadata?.name ?? '(unnamed)',
      ...(kind === 'LocalUnlockRequest' ? { namespace: metadata?.namespace as string } : {}),
      ...(metadata?.uid ? { uid: metadata.uid } : {}),
      target: {
        group: groupOf(spec.target.apiVersion),
        kind: spec.target.kind,
        ...scope,
        name: spec.target.name,
      },
      operations: new Set(spec.operations),
      requester: spec.requester,
      approvers: approvals.map((a) => a.user),
      approvals,
      rejections: distinctEntries(spec.rejections, undefined),
      ...(spec.ticket ? { ticket: spec.ticket } : {}),
      emergency: spec.emergency === true,
      ...selfApprovalOf(spec),
      reviews: distinctEntries(spec.reviews, spec.requester),
      createdAtMs,
      durationMs,
      // Without a creation time (not yet stored) it is not in force at all.
      expiresAtMs: Number.isFinite(createdAtMs) ? createdAtMs + durationMs : Number.NEGATIVE_INFINITY,
      ...(spec.change ? { patch: spec.change.patch as PatchOperation[] } : {}),
      ...(spec.rollback ? { rollbackTo: spec.rollback.hash } : {}),
    },
  };
}
