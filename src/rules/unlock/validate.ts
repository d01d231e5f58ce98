// Admission of UnlockRequests: the webhook enforces who may ask and who may approve.
// On CREATE the requester must be the user creating it, there are no approvals yet, and
// the duration fits the rules governing the target. After that only one approval,
// rejection or review may be appended (sign-off.ts), in the name of the user making the
// update, recording the groups the API server reports for them, attested by Bulwark's
// mutating webhook (attestation/stamp.ts), before the request expires (reviews: after too):
// an approval by an approver under every governing rule who is not the requester and has
// not approved yet; a rejection by such an approver, or by the requester withdrawing it.

import type { AdmissionRequest, KubeObject } from '../../admission/types.ts';
import type { RequestFacts } from '../../decision/facts.ts';
import { allow, deny, type Verdict } from '../../decision/verdict.ts';
import type { PolicySnapshot } from '../../policy/compiled.ts';
import { isUnlockKind, POLICY_GROUP } from '../../policy/crds.ts';
import { formatDuration } from '../../policy/duration.ts';
import { approvalRulesFor, isGovernanceTarget } from './approval-rules.ts';
import {
  describeApprovers,
  isApprover,
  namesApprovers,
  rulesForUnlock,
  shortestMaximum,
  type ApprovalRule,
} from './approvals.ts';
import { unlockName, type CompiledUnlock } from '../../policy/compile-unlock.ts';
import { appendedSignOff, groupsProblem, SIGN_OFF_LISTS, signOffProblem } from './sign-off.ts';
import { checkApprovalAttestation } from '../../attestation/approval.ts';

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
    return t.group === POLICY_GROUP && isGovernanceTarget(t) && unlock.kind === 'UnlockRequest'
      ? { object: undefined }
      : { denied: deny(RULE, `the target ${name} does not exist`) };
  }
  // A LocalUnlockRequest's target is in its namespace (compile-unlock.ts); a cluster-scoped
  // object, found by its name alone, has none: only an UnlockRequest can name it.
  if (unlock.kind === 'LocalUnlockRequest' && fact.object.metadata?.namespace !== unlock.namespace)
    return {
      denied: deny(
        RULE,
        `the target ${name} is cluster-scoped: a LocalUnlockRequest unlocks only objects in its own namespace ` +
          `${unlock.namespace}; ask for an UnlockRequest (cluster-scoped) instead`,
      ),
    };
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
  if (approvals.length > 0) return deny(RULE, `a new ${unlock.kind} has no approvals: approvers add theirs afterwards`);
  const target = targetOrDenial(unlock, facts);
  if ('denied' in target) return target.denied;
  const rules = governingRules(unlock, target.object, snapshot, facts);
  const shortest = shortestMaximum(rulesForUnlock(unlock, rules));
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

function validateSignOff(
  request: AdmissionRequest,
  before: CompiledUnlock,
  after: CompiledUnlock,
  snapshot: PolicySnapshot,
  facts: RequestFacts,
): Verdict {
  const user = request.userInfo.username ?? '';
  const entry = appendedSignOff(request);
  if (entry === 'none') return allow(RULE, 'skip');
  if ('refused' in entry) return deny(RULE, entry.refused);
  const rejecting = entry.kind === 'rejection';
  const reviewing = entry.kind === 'review';
  const target = targetOrDenial(after, facts);
  if ('denied' in target) return target.denied;
  const rules = governingRules(after, target.object, snapshot, facts);
  const problem = signOffProblem(entry.kind, user, before, rules);
  if (problem) return deny(RULE, problem);
  // A review comes after the fact: after expiry too. Approving or rejecting ends with it.
  if (!reviewing && (facts.now === undefined || facts.now >= before.expiresAtMs)) {
    return deny(
      RULE,
      `${unlockName(before)} expired at ${new Date(before.expiresAtMs).toISOString()}: it can no longer ` +
        `be ${rejecting ? 'rejected' : 'approved'}; create a new one`,
    );
  }
  const groups = request.userInfo.groups ?? [];
  const groupsWrong = groupsProblem(entry.groups, groups, entry.kind);
  if (groupsWrong) return deny(RULE, groupsWrong);
  const list = SIGN_OFF_LISTS[entry.kind];
  const attested = checkApprovalAttestation(snapshot.attestation, request.oldObject?.metadata?.uid, entry.stored, list);
  if (!attested.ok) {
    return deny(
      RULE,
      `this ${entry.kind} is not attested by Bulwark (${attested.why}); Bulwark's mutating webhook ` +
        `(attest.bulwark.dev) stamps every approval, rejection and review it admits`,
    );
  }
  // The requester may withdraw (reject) their own request: that only ever closes it.
  if (rejecting && user === before.requester) return allow(RULE);
  for (const rule of rules) {
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
  if (request.kind.group !== POLICY_GROUP || !isUnlockKind(request.kind.kind) || request.subResource !== undefined)
    return allow(RULE, 'skip');
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return allow(RULE, 'skip');
  const after = snapshot.compiler.unlock(request.object);
  if (!after.ok)
    return deny(
      RULE,
      `${request.kind.kind} ${request.name ?? ''} is ` +
        `invalid: ${after.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
    );
  if (request.operation === 'CREATE') return validateCreate(request, after.unlock, snapshot, facts);
  const before = snapshot.compiler.unlock(request.oldObject);
  if (!before.ok)
    return deny(
      RULE,
      `the stored ${request.kind.kind} is invalid and cannot be approved; delete it and create a new one`,
    );
  return validateSignOff(request, before.unlock, after.unlock, snapshot, facts);
}
