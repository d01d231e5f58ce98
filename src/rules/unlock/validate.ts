// Admission of UnlockRequests: the webhook enforces who may ask and who may approve.
// On CREATE the requester must be the user creating it, there are no approvals yet, and
// the duration fits the rules governing the target. After that only spec.approvals may
// change, and only by appending one approval in the name of the user making the update,
// recording the groups the API server reports for them, who is not the requester, not
// already an approver, an approver under every governing rule, before the request expires,
// and attested by Bulwark's mutating webhook (attestation/stamp.ts).

import type { AdmissionRequest, KubeObject } from '../../admission/types.ts';
import type { RequestFacts } from '../../decision/facts.ts';
import { allow, deny, type Verdict } from '../../decision/verdict.ts';
import type { PolicySnapshot } from '../../policy/compiled.ts';
import { POLICY_GROUP } from '../../policy/crds.ts';
import { formatDuration } from '../../policy/duration.ts';
import { semanticChanges } from '../../diff/semantic-diff.ts';
import { humanPath, isUnderPointer } from '../../diff/pointer.ts';
import { approvalRulesFor, isGovernanceTarget } from './approval-rules.ts';
import { describeApprovers, isApprover, namesApprovers, shortestMaximum, type ApprovalRule } from './approvals.ts';
import type { CompiledUnlock } from '../../policy/compile-unlock.ts';
import { checkApprovalAttestation, type ApprovalContent } from '../../attestation/approval.ts';

export const RULE = 'unlock-request';

/** The unlock rules governing the target, as they would for a change of it. */
function governingRules(
  unlock: CompiledUnlock,
  target: KubeObject | undefined,
  snapshot: PolicySnapshot,
  facts: RequestFacts,
): ApprovalRule[] {
  return approvalRulesFor(snapshot, unlock.target, target, facts.targetNamespaceLabels);
}

/**
 * The target as it stands. A policy that does not exist yet can be a target: creating it
 * may loosen locks, and that needs an approved unlock before it exists.
 */
function targetOrDenial(
  unlock: CompiledUnlock,
  facts: RequestFacts,
): { object: KubeObject | undefined } | { denied: Verdict } {
  const fact = facts.unlockTarget;
  const t = unlock.target;
  const name = `${t.kind} ${t.namespace ? `${t.namespace}/` : ''}${t.name}`;
  if (!fact || fact.status === 'unavailable')
    return {
      denied: deny(
        RULE,
        `cannot read the target ${name} to check the policy that governs ` +
          `it: ${fact?.status === 'unavailable' ? fact.reason : 'not looked up'}`,
      ),
    };
  if (fact.status === 'absent') {
    return t.group === POLICY_GROUP && isGovernanceTarget(t)
      ? { object: undefined }
      : { denied: deny(RULE, `the target ${name} does not exist`) };
  }
  return { object: fact.object };
}

function validateCreate(
  request: AdmissionRequest,
  unlock: CompiledUnlock,
  snapshot: PolicySnapshot,
  facts: RequestFacts,
): Verdict {
  const user = request.userInfo.username ?? '';
  if (unlock.requester !== user)
    return deny(
      RULE,
      `spec.requester must be the user creating the request (${user}), not ${JSON.stringify(unlock.requester)}`,
    );
  const approvals = (request.object as { spec?: { approvals?: unknown[] } }).spec?.approvals ?? [];
  if (approvals.length > 0) return deny(RULE, 'a new UnlockRequest has no approvals: approvers add theirs afterwards');
  const target = targetOrDenial(unlock, facts);
  if ('denied' in target) return target.denied;
  const rules = governingRules(unlock, target.object, snapshot, facts);
  const shortest = shortestMaximum(rules);
  if (shortest && unlock.durationMs > shortest.maxDurationMs) {
    return deny(
      RULE,
      `spec.duration ${formatDuration(unlock.durationMs)} is longer ` +
        `than ${formatDuration(shortest.maxDurationMs)}, the longest unlock ${shortest.rule.source} allows`,
    );
  }
  const unapprovable = rules.filter((r) => !namesApprovers(r.unlock));
  if (unapprovable.length > 0) {
    return deny(
      RULE,
      `nobody can approve this request: ${unapprovable.map((r) => r.source).join(', ')} names no unlock.approverGroups`,
    );
  }
  return allow(RULE);
}

/** The groups an approval records must be exactly those the API server reports for its author. */
function groupsProblem(recorded: unknown, actual: readonly string[]): string | undefined {
  if (!Array.isArray(recorded))
    return (
      'an approval must record your groups as the API server reports them (spec.approvals[].groups; ' +
      'kubectl bulwark unlock approve does this)'
    );
  const mine = new Set(actual);
  const theirs = new Set(recorded as string[]);
  if (mine.size !== theirs.size || [...mine].some((g) => !theirs.has(g))) {
    return (
      `the groups recorded with an approval must be exactly yours (${[...mine].join(', ') || 'none'}), ` +
      `not ${[...theirs].join(', ') || 'none'}`
    );
  }
  return undefined;
}

function validateApproval(
  request: AdmissionRequest,
  before: CompiledUnlock,
  after: CompiledUnlock,
  snapshot: PolicySnapshot,
  facts: RequestFacts,
): Verdict {
  const user = request.userInfo.username ?? '';
  const oldObject = request.oldObject!;
  const newObject = request.object!;
  const other = semanticChanges(oldObject, newObject).filter((c) => !isUnderPointer(c.path, '/spec/approvals'));
  if (other.length > 0)
    return deny(
      RULE,
      `only spec.approvals may change after an UnlockRequest is created; this update changes ${other
        .slice(0, 5)
        .map((c) => humanPath(c.path))
        .join(', ')}`,
    );
  const oldApprovals = (oldObject as { spec?: { approvals?: { user: string }[] } }).spec?.approvals ?? [];
  const newApprovals = (newObject as { spec?: { approvals?: { user: string }[] } }).spec?.approvals ?? [];
  if (newApprovals.length === oldApprovals.length && JSON.stringify(newApprovals) === JSON.stringify(oldApprovals))
    return allow(RULE, 'skip');
  if (
    newApprovals.length < oldApprovals.length ||
    oldApprovals.some((a, i) => JSON.stringify(a) !== JSON.stringify(newApprovals[i]))
  ) {
    return deny(RULE, 'approvals are append-only: existing approvals cannot be changed or removed');
  }
  if (newApprovals.length !== oldApprovals.length + 1)
    return deny(RULE, 'add exactly one approval per update, your own');
  const added = newApprovals[newApprovals.length - 1]! as { user: string; groups?: unknown };
  const approver = added.user;
  if (approver !== user)
    return deny(RULE, `an approval must name the user who makes it: you are ${user}, the approval names ${approver}`);
  if (user === before.requester) return deny(RULE, `${user} requested this unlock and cannot approve it`);
  if (before.approvers.includes(user)) return deny(RULE, `${user} has already approved this request`);
  if (facts.now === undefined || facts.now >= before.expiresAtMs) {
    return deny(
      RULE,
      `UnlockRequest ${before.name} expired at ${new Date(before.expiresAtMs).toISOString()}: it can no longer ` +
        `be approved; create a new one`,
    );
  }
  const groups = request.userInfo.groups ?? [];
  const problem = groupsProblem(added.groups, groups);
  if (problem) return deny(RULE, problem);
  const attested = checkApprovalAttestation(snapshot.attestation, oldObject.metadata?.uid, added as ApprovalContent);
  if (!attested.ok) {
    return deny(
      RULE,
      `this approval is not attested by Bulwark (${attested.why}); Bulwark's mutating webhook ` +
        `(attest.bulwark.dev) stamps every approval it admits, and only attested approvals count`,
    );
  }
  const target = targetOrDenial(after, facts);
  if ('denied' in target) return target.denied;
  for (const rule of governingRules(after, target.object, snapshot, facts)) {
    if (!isApprover(rule.unlock, user, groups)) {
      return deny(RULE, `${user} is not in an approver group of ${rule.source} (${describeApprovers(rule.unlock)})`);
    }
  }
  return allow(RULE);
}

export function evaluateUnlockRequest(
  request: AdmissionRequest,
  snapshot: PolicySnapshot,
  facts: RequestFacts,
): Verdict {
  if (request.kind.group !== POLICY_GROUP || request.kind.kind !== 'UnlockRequest' || request.subResource !== undefined)
    return allow(RULE, 'skip');
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return allow(RULE, 'skip');
  const after = snapshot.compiler.unlock(request.object);
  if (!after.ok)
    return deny(
      RULE,
      `UnlockRequest ${request.name ?? ''} is ` +
        `invalid: ${after.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
    );
  if (request.operation === 'CREATE') return validateCreate(request, after.unlock, snapshot, facts);
  const before = snapshot.compiler.unlock(request.oldObject);
  if (!before.ok)
    return deny(RULE, 'the stored UnlockRequest is invalid and cannot be approved; delete it and create a new one');
  return validateApproval(request, before.unlock, after.unlock, snapshot, facts);
}
