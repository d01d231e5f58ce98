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

/** Whether one stored approval counts today, under `rules` (the policies governing the target now). */
export function approvalCounts(
  approval: RecordedApproval,
  unlock: CompiledUnlock,
  rules: readonly ApprovalRule[],
  keys: ApprovalTrust,
): ApprovalCount {
  if (approval.user === unlock.requester) return { counts: false, why: `${approval.user} requested it` };
  const attested = checkApprovalAttestation(keys, unlock.uid, approval.stored);
  if (!attested.ok) {
    return {
      counts: false,
      why:
        `${approval.user}'s approval was not admitted by Bulwark (${attested.why}: written while the webhook ` +
        `was away, or forged), so it does not count`,
    };
  }
  // Without an attestation (only in an offline simulation) there is no admission time to check.
  const stamped = approval.stored.attestation as { at: string } | undefined;
  if (stamped !== undefined && !(Date.parse(stamped.at) < unlock.expiresAtMs))
    return { counts: false, why: `${approval.user} approved after it expired` };
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
