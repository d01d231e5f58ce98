// The phase of an UnlockRequest, as Bulwark reports it in status (pure). Admission never
// reads it: every change is judged from spec against the policies in force now (match.ts).
// The phases:
//   Pending   fewer approvals that count now than the governing policies require
//   Approved  enough approvals, unexpired, and the target unchanged
//   Active    approved, unexpired, and the target has changed: the unlock is in use
//   Used      its one change happened: a DELETE unlock whose target is gone, or an unlock bound
//             to a patch (spec.change) whose change is in place on the target; terminal
//   Expired   past creation + duration (unless Used first); terminal
//   Rejected  someone rejected it; terminal, whatever else holds
// "Changed" compares the target's resourceVersion with the one recorded when the status loop
// first saw the request (within seconds of its creation), never observed by admission.

import type { KubeObject } from '../../admission/types.ts';
import { formatDuration } from '../../policy/duration.ts';
import type { CompiledUnlock } from '../../policy/compile-unlock.ts';
import type { ApprovalTrust } from '../../attestation/approval.ts';
import { approvalsRequired, countedApprovals, rulesForUnlock, type ApprovalRule } from './approvals.ts';
import { makesExactly } from './match.ts';
import { reviewStatus, type ReviewStatus } from './review-status.ts';

export const PHASES = ['Pending', 'Approved', 'Active', 'Used', 'Expired', 'Rejected'] as const;
export type UnlockPhase = (typeof PHASES)[number];
export const TERMINAL: ReadonlySet<UnlockPhase> = new Set(['Used', 'Expired', 'Rejected']);

export interface UnlockStatus extends Partial<ReviewStatus> {
  phase: UnlockPhase;
  /** "1/2": approvals that count now, of those required. */
  approvals: string;
  approvalsCounted: number;
  approvalsRequired: number;
  expiresAt: string;
  allows: string;
  message: string;
  baseTargetResourceVersion?: string;
}

export interface PhaseInput {
  unlock: CompiledUnlock;
  rules: readonly ApprovalRule[];
  now: number;
  /** The target as it stands; undefined when it does not exist. */
  target: KubeObject | undefined;
  previous?: { phase?: string; baseTargetResourceVersion?: string };
  /** Bulwark's attestation keys: approvals and reviews count only when attested (attestation/approval.ts). */
  keys: ApprovalTrust;
}

const targetName = (u: CompiledUnlock) =>
  `${u.target.kind} ${u.target.namespace ? `${u.target.namespace}/` : ''}${u.target.name}`;

/** What the unlock would allow, in words: operations, target, until when, by whom. */
export function describeAllows(unlock: CompiledUnlock, rules: readonly ApprovalRule[]): string {
  const ops = [...unlock.operations].join(', ');
  const what = unlock.patch
    ? `only the bound change (${unlock.patch.length} patch operation(s)) of ${targetName(unlock)}`
    : `${ops} of ${targetName(unlock)}`;
  const bound = rules.some((r) => r.unlock.requesterOnly);
  return (
    `${unlock.emergency ? 'EMERGENCY: ' : ''}${what} for ${formatDuration(unlock.durationMs)} from creation ` +
    `(until ${new Date(unlock.expiresAtMs).toISOString()}), by ${bound ? `${unlock.requester} only` : 'anyone'}`
  );
}

/** Whether the one change an unlock allows has happened. */
function used(unlock: CompiledUnlock, target: KubeObject | undefined): boolean {
  if (target === undefined) return unlock.operations.has('DELETE');
  return unlock.patch !== undefined && makesExactly(unlock.patch, target, target);
}

export function unlockStatus(input: PhaseInput): UnlockStatus {
  const { unlock, rules, now, target, previous, keys } = input;
  const effective = rulesForUnlock(unlock, rules);
  const required = approvalsRequired(effective);
  const { approvers, refused } = countedApprovals(unlock, effective, keys);
  const counted = approvers.length;
  // The target as Bulwark first saw it with this request; "changed" compares with that.
  const baseVersion = previous?.baseTargetResourceVersion ?? target?.metadata?.resourceVersion;
  const changed = baseVersion !== undefined && target?.metadata?.resourceVersion !== baseVersion;
  const approved = counted >= required;
  const review = reviewStatus(unlock, rules, now, approved || previous?.phase === 'Active', keys);
  const base = {
    ...review,
    approvals: `${counted}/${required}`,
    approvalsCounted: counted,
    approvalsRequired: required,
    expiresAt: new Date(unlock.expiresAtMs).toISOString().replace(/\.\d+Z$/, 'Z'),
    allows: describeAllows(unlock, rules),
    ...(baseVersion !== undefined ? { baseTargetResourceVersion: baseVersion } : {}),
  };
  const at = (phase: UnlockPhase, message: string): UnlockStatus => ({ phase, ...base, message });
  if (unlock.rejections.length > 0)
    return at('Rejected', `rejected by ${unlock.rejections.map((r) => r.user).join(', ')}: it never unlocks`);
  const usedMessage = 'its change was made; it allows nothing more';
  if (previous?.phase === 'Used' || (approved && changed && used(unlock, target))) return at('Used', usedMessage);
  if (now >= unlock.expiresAtMs) return at('Expired', `expired at ${base.expiresAt}: the lock is back`);
  if (!approved) {
    const why = refused.length > 0 ? ` (${refused.join('; ')})` : '';
    return at('Pending', `approvals ${counted} of ${required}${why}`);
  }
  if (changed) return at('Active', `in use: ${targetName(unlock)} has changed since Bulwark first saw the request`);
  return at('Approved', `approvals ${counted} of ${required}: it allows ${base.allows}`);
}
