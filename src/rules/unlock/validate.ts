// Admission of UnlockRequests: the webhook enforces who may ask and who may approve.
// On CREATE the requester must be the user creating it, there are no approvals yet, and
// the duration fits the governing policy. After that only spec.approvals may change,
// and only by appending one approval in the name of the user making the update, who is
// not the requester, not already an approver, in an approver group of every governing
// policy, before the request expires.

import type { AdmissionRequest, KubeObject } from '../../admission/types.ts';
import type { RequestFacts } from '../../decision/facts.ts';
import { allow, deny, type Verdict } from '../../decision/verdict.ts';
import type { CompiledImmutabilityPolicy, PolicySnapshot } from '../../policy/compiled.ts';
import { POLICY_GROUP } from '../../policy/crds.ts';
import { applicablePolicies } from '../immutability/evaluate.ts';
import { semanticChanges } from '../immutability/diff.ts';
import { humanPath, isUnderPointer } from '../immutability/paths.ts';
import { compileUnlock, type CompiledUnlock } from './compile.ts';

export const RULE = 'unlock-request';

function formatDuration(ms: number): string {
  const minutes = ms / 60_000;
  return minutes >= 60 && minutes % 60 === 0 ? `${minutes / 60}h` : `${minutes}m`;
}

/** The policies that govern the target object, as they would for a change of it. */
function governingPolicies(unlock: CompiledUnlock, target: KubeObject, snapshot: PolicySnapshot, facts: RequestFacts): readonly CompiledImmutabilityPolicy[] {
  return applicablePolicies(snapshot, {
    group: unlock.target.group,
    kind: unlock.target.kind,
    ...(unlock.target.namespace ? { namespace: unlock.target.namespace } : {}),
    objectLabels: target.metadata?.labels ?? {},
    namespaceLabels: facts.namespaceLabels,
  });
}

function targetOrDenial(unlock: CompiledUnlock, facts: RequestFacts): { object: KubeObject } | { denied: Verdict } {
  const fact = facts.unlockTarget;
  const t = unlock.target;
  const name = `${t.kind} ${t.namespace ? `${t.namespace}/` : ''}${t.name}`;
  if (!fact || fact.status === 'unavailable') return { denied: deny(RULE, `cannot read the target ${name} to check the policy that governs it: ${fact?.status === 'unavailable' ? fact.reason : 'not looked up'}`) };
  if (fact.status === 'absent') return { denied: deny(RULE, `the target ${name} does not exist`) };
  return { object: fact.object };
}

function validateCreate(request: AdmissionRequest, unlock: CompiledUnlock, snapshot: PolicySnapshot, facts: RequestFacts): Verdict {
  const user = request.userInfo.username ?? '';
  if (unlock.requester !== user) return deny(RULE, `spec.requester must be the user creating the request (${user}), not ${JSON.stringify(unlock.requester)}`);
  const approvals = (request.object as { spec?: { approvals?: unknown[] } }).spec?.approvals ?? [];
  if (approvals.length > 0) return deny(RULE, 'a new UnlockRequest has no approvals: approvers add theirs afterwards');
  const target = targetOrDenial(unlock, facts);
  if ('denied' in target) return target.denied;
  const policies = governingPolicies(unlock, target.object, snapshot, facts);
  const longest = Math.min(...policies.map((p) => p.unlock.maxDurationMs));
  if (unlock.durationMs > longest) {
    const strictest = policies.find((p) => p.unlock.maxDurationMs === longest)!;
    return deny(RULE, `spec.duration ${formatDuration(unlock.durationMs)} is longer than ${formatDuration(longest)}, the longest unlock ImmutabilityPolicy ${strictest.name} allows`);
  }
  const unapprovable = policies.filter((p) => p.unlock.approverGroups.size === 0);
  if (unapprovable.length > 0) {
    return deny(RULE, `nobody can approve this request: ImmutabilityPolicy ${unapprovable.map((p) => p.name).join(', ')} names no unlock.approverGroups`);
  }
  return allow(RULE);
}

function validateApproval(request: AdmissionRequest, before: CompiledUnlock, after: CompiledUnlock, snapshot: PolicySnapshot, facts: RequestFacts): Verdict {
  const user = request.userInfo.username ?? '';
  const oldObject = request.oldObject!;
  const newObject = request.object!;
  const other = semanticChanges(oldObject, newObject).filter((c) => !isUnderPointer(c.path, '/spec/approvals'));
  if (other.length > 0) return deny(RULE, `only spec.approvals may change after an UnlockRequest is created; this update changes ${other.slice(0, 5).map((c) => humanPath(c.path)).join(', ')}`);
  const oldApprovals = (oldObject as { spec?: { approvals?: { user: string }[] } }).spec?.approvals ?? [];
  const newApprovals = (newObject as { spec?: { approvals?: { user: string }[] } }).spec?.approvals ?? [];
  if (newApprovals.length === oldApprovals.length && JSON.stringify(newApprovals) === JSON.stringify(oldApprovals)) return allow(RULE, 'skip');
  if (newApprovals.length < oldApprovals.length || oldApprovals.some((a, i) => JSON.stringify(a) !== JSON.stringify(newApprovals[i]))) {
    return deny(RULE, 'approvals are append-only: existing approvals cannot be changed or removed');
  }
  if (newApprovals.length !== oldApprovals.length + 1) return deny(RULE, 'add exactly one approval per update, your own');
  const approver = newApprovals[newApprovals.length - 1]!.user;
  if (approver !== user) return deny(RULE, `an approval must name the user who makes it: you are ${user}, the approval names ${approver}`);
  if (user === before.requester) return deny(RULE, `${user} requested this unlock and cannot approve it`);
  if (before.approvers.includes(user)) return deny(RULE, `${user} has already approved this request`);
  if (facts.now === undefined || facts.now >= before.expiresAtMs) {
    return deny(RULE, `UnlockRequest ${before.name} expired at ${new Date(before.expiresAtMs).toISOString()}: it can no longer be approved; create a new one`);
  }
  const target = targetOrDenial(after, facts);
  if ('denied' in target) return target.denied;
  const groups = new Set(request.userInfo.groups ?? []);
  for (const policy of governingPolicies(after, target.object, snapshot, facts)) {
    if (![...policy.unlock.approverGroups].some((g) => groups.has(g))) {
      return deny(RULE, `${user} is not in an approver group of ImmutabilityPolicy ${policy.name} (${[...policy.unlock.approverGroups].join(', ') || 'none named'})`);
    }
  }
  return allow(RULE);
}

export function evaluateUnlockRequest(request: AdmissionRequest, snapshot: PolicySnapshot, facts: RequestFacts): Verdict {
  if (request.kind.group !== POLICY_GROUP || request.kind.kind !== 'UnlockRequest' || request.subResource !== undefined) return allow(RULE, 'skip');
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return allow(RULE, 'skip');
  const after = compileUnlock(request.object);
  if (!after.ok) return deny(RULE, `UnlockRequest ${request.name ?? ''} is invalid: ${after.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  if (request.operation === 'CREATE') return validateCreate(request, after.unlock, snapshot, facts);
  const before = compileUnlock(request.oldObject);
  if (!before.ok) return deny(RULE, 'the stored UnlockRequest is invalid and cannot be approved; delete it and create a new one');
  return validateApproval(request, before.unlock, after.unlock, snapshot, facts);
}
