// Who may approve an unlock, and whether a stored approval counts (pure). The rules come
// from the policies in force *now*: an approval made under looser rules than today's (a
// stricter policy began to govern the target, approver groups narrowed) stops counting,
// and so does one stored without the approver's groups (before they were recorded, or
// written while the webhook was away). approvalCounts is the one place that decides,
// and it counts only approvals Bulwark attested when it admitted them (attestation/).

import { rollbackApprovals, type CompiledImmutabilityPolicy, type UnlockRules } from '../../policy/compiled.ts';
import type { CompiledUnlock, RecordedApproval } from '../../policy/compile-unlock.ts';
import { checkApprovalAttestation, type ApprovalTrust } from '../../attestation/approval.ts';

/** Unlock rules and where they come from, for messages ("ImmutabilityPolicy prod", "the policy admins"). */
export interface ApprovalRule {
  source: string;
  unlock: UnlockRules;
}

export const ruleOfPolicy = (p: CompiledImmutabilityPolicy): ApprovalRule => ({
  source: `ImmutabilityPolicy ${p.name}`,
  unlock: p.unlock,
});

export function describeApprovers(rules: UnlockRules): string {
  return (
    [...rules.approverGroups, ...[...(rules.approverUsers ?? [])].map((u) => `user ${u}`)].join(', ') || 'none named'
  );
}

export function namesApprovers(rules: UnlockRules): boolean {
  return rules.approverGroups.size > 0 || (rules.approverUsers?.size ?? 0) > 0;
}

/** Whether a user with these groups is an approver under these rules. */
export function isApprover(rules: UnlockRules, user: string, groups: readonly string[]): boolean {
  return rules.approverUsers?.has(user) === true || groups.some((g) => rules.approverGroups.has(g));
}

/** The most approvals any rule asks for. */
export const approvalsRequired = (rules: readonly ApprovalRule[]) =>
  Math.max(1, ...rules.map((r) => r.unlock.approvalsRequired));

/** The most approvals any rule asks for a rollback to an earlier sealed state. */
export const rollbackApprovalsRequired = (rules: readonly ApprovalRule[]) =>
  Math.max(1, ...rules.map((r) => rollbackApprovals(r.unlock)));

/** The rule allowing the shortest unlock, and that duration. */
export function shortestMaximum(
  rules: readonly ApprovalRule[],
): { rule: ApprovalRule; maxDurationMs: number } | undefined {
  let best: ApprovalRule | undefined;
  for (const r of rules) if (!best || r.unlock.maxDurationMs < best.unlock.maxDurationMs) best = r;
  return best && { rule: best, maxDurationMs: best.unlock.maxDurationMs };
}

export type ApprovalCount = { counts: true } | { counts: false; why: string };

/** Why a stored approval (or self-approval) was not admitted by Bulwark before expiry; undefined when it was. */
function attestationProblem(approval: RecordedApproval, unlock: CompiledUnlock, keys: ApprovalTrust) {
  const attested = checkApprovalAttestation(keys, unlock.uid, approval.stored);
  if (!attested.ok)
    return (
      `${approval.user}'s approval was not admitted by Bulwark (${attested.why}: written while the webhook ` +
      `was away, or forged), so it does not count`
    );
  // Without an attestation (only in an offline simulation) there is no admission time to check.
  const stamped = approval.stored.attestation as { at: string } | undefined;
  if (stamped !== undefined && !(Date.parse(stamped.at) < unlock.expiresAtMs))
    return `${approval.user} approved after it expired`;
  return undefined;
}

/** Whether one stored approval counts today, under `rules` (the policies governing the target now). */
export function approvalCounts(
  approval: RecordedApproval,
  unlock: CompiledUnlock,
  rules: readonly ApprovalRule[],
  keys: ApprovalTrust,
): ApprovalCount {
  if (approval.user === unlock.requester) return { counts: false, why: `${approval.user} requested it` };
  const unattested = attestationProblem(approval, unlock, keys);
  if (unattested) return { counts: false, why: unattested };
  if (!approval.groups) {
    return {
      counts: false,
      why:
        `${approval.user}'s approval does not record the approver's groups (made before Bulwark recorded ` +
        `them, or not through Bulwark), so it does not count; create a new UnlockRequest`,
    };
  }
  for (const rule of rules) {
    if (!isApprover(rule.unlock, approval.user, approval.groups)) {
      return {
        counts: false,
        why: `${approval.user} is not in an approver group of ${rule.source} (${describeApprovers(rule.unlock)}) now`,
      };
    }
  }
  return { counts: true };
}

/**
 * The rules an unlock is judged under. An emergency request (spec.emergency) is judged under
 * each governing policy's unlock.emergency (fewer approvals, a shorter maximum); a policy
 * without one judges it like any other request, so asking for an emergency never lowers a bar
 * a policy did not lower itself.
 */
export function rulesForUnlock(unlock: CompiledUnlock, rules: readonly ApprovalRule[]): readonly ApprovalRule[] {
  if (!unlock.emergency) return rules;
  return rules.map((r) => {
    const e = r.unlock.emergency;
    if (!e) return r;
    return {
      source: `${r.source} (emergency)`,
      unlock: { ...r.unlock, approvalsRequired: e.approvalsRequired, maxDurationMs: e.maxDurationMs },
    };
  });
}

/** Whether an emergency unlock is one under every governing rule (else it was judged as an ordinary one). */
export const isEmergency = (unlock: CompiledUnlock, rules: readonly ApprovalRule[]) =>
  unlock.emergency && rules.length > 0 && rules.every((r) => r.unlock.emergency !== undefined);

/** The approvals that count now under `rules` (see rulesForUnlock), and why the others do not. */
export function countedApprovals(
  unlock: CompiledUnlock,
  rules: readonly ApprovalRule[],
  keys: ApprovalTrust,
): { approvers: string[]; refused: string[] } {
  const approvers: string[] = [];
  const refused: string[] = [];
  for (const approval of unlock.approvals) {
    const verdict = approvalCounts(approval, unlock, rules, keys);
    if (verdict.counts) approvers.push(approval.user);
    else refused.push(verdict.why);
  }
  const own = unlock.selfApproval;
  if (own) {
    const selfAllowed = isEmergency(unlock, rules) && rules.every((r) => r.unlock.emergency?.selfApproval);
    const unattested = attestationProblem(own, unlock, keys);
    if (!selfAllowed) refused.push(`${own.user} requested it, and self-approval is not allowed`);
    else if (unattested) refused.push(unattested);
    else if (own.groups && rules.every((r) => isApprover(r.unlock, own.user, own.groups!)))
      approvers.push(`${own.user} (self-approved, emergency)`);
    else refused.push(`${own.user}'s self-approval does not come from an approver`);
  }
  return { approvers, refused };
}
