// The phase of an UnlockRequest, as Bulwark reports it in status (pure). Admission never
// reads it: every change is judged from spec against the policies in force now (match.ts).
// The phases:
//   Pending   fewer approvals that count now than the governing policies require
//   Approved  enough approvals, unexpired, and the target unchanged since approval
//   Active    approved, unexpired, and the target has changed since approval: the unlock is in use
//   Used      its one change happened: a DELETE unlock whose target is gone, or an unlock bound
//             to a patch (spec.change) whose change is in place on the target; terminal
//   Expired   past creation + duration (unless Used first); terminal
//   Rejected  someone rejected it; terminal, whatever else holds
// "Changed since approval" compares the target's resourceVersion with the one recorded when
// the request first became Approved, observed by the status loop, never by admission.

import type { KubeObject } from '../../admission/types.ts';
import { formatDuration } from '../../policy/duration.ts';
import type { CompiledUnlock } from '../../policy/compile-unlock.ts';
import { approvalCounts, approvalsRequired, type ApprovalRule } from './approvals.ts';
import { makesExactly } from './match.ts';

export const PHASES = ['Pending', 'Approved', 'Active', 'Used', 'Expired', 'Rejected'] as const;
export type UnlockPhase = (typeof PHASES)[number];
export const TERMINAL: ReadonlySet<UnlockPhase> = new Set(['Used', 'Expired', 'Rejected']);

export interface UnlockStatus {
  phase: UnlockPhase;
  /** "1/2": approvals that count now, of those required. */
  approvals: string;
  approvalsCounted: number;
  approvalsRequired: number;
  expiresAt: string;
  allows: string;
  message: string;
  approvedTargetResourceVersion?: string;
}

export interface PhaseInput {
  unlock: CompiledUnlock;
  rules: readonly ApprovalRule[];
  now: number;
  /** The target as it stands; undefined when it does not exist. */
  target: KubeObject | undefined;
  previous?: { phase?: string; approvedTargetResourceVersion?: string };
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
    `${what} for ${formatDuration(unlock.durationMs)} from creation ` +
    `(until ${new Date(unlock.expiresAtMs).toISOString()}), by ${bound ? `${unlock.requester} only` : 'anyone'}`
  );
}

/** Whether the one change an unlock allows has happened. */
function used(unlock: CompiledUnlock, target: KubeObject | undefined): boolean {
  if (target === undefined) return unlock.operations.has('DELETE');
  return unlock.patch !== undefined && makesExactly(unlock.patch, target, target);
}

export function unlockStatus(input: PhaseInput): UnlockStatus {
  const { unlock, rules, now, target, previous } = input;
  const required = approvalsRequired(rules);
  const refused: string[] = [];
  let counted = 0;
  for (const approval of unlock.approvals) {
    const verdict = approvalCounts(approval, unlock, rules);
    if (verdict.counts) counted++;
    else refused.push(verdict.why);
  }
  const base = {
    approvals: `${counted}/${required}`,
    approvalsCounted: counted,
    approvalsRequired: required,
    expiresAt: new Date(unlock.expiresAtMs).toISOString().replace(/\.\d+Z$/, 'Z'),
    allows: describeAllows(unlock, rules),
  };
  const approvedAt = previous?.approvedTargetResourceVersion;
  const keep = approvedAt !== undefined ? { approvedTargetResourceVersion: approvedAt } : {};
  const at = (phase: UnlockPhase, message: string, extra = keep): UnlockStatus => ({
    phase,
    ...base,
    message,
    ...extra,
  });
  if (unlock.rejections.length > 0)
    return at('Rejected', `rejected by ${unlock.rejections.map((r) => r.user).join(', ')}: it never unlocks`);
  if (previous?.phase === 'Used') return at('Used', 'its change was made; it allows nothing more');
  const wasApproved = approvedAt !== undefined;
  const changed = wasApproved && target?.metadata?.resourceVersion !== approvedAt;
  if (changed && used(unlock, target)) return at('Used', 'its change was made; it allows nothing more');
  if (now >= unlock.expiresAtMs) return at('Expired', `expired at ${base.expiresAt}: the lock is back`);
  if (counted < required) {
    const why = refused.length > 0 ? ` (${refused.join('; ')})` : '';
    return at('Pending', `approvals ${counted} of ${required}${why}`);
  }
  if (!wasApproved) {
    const rv = target?.metadata?.resourceVersion;
    return at('Approved', `approvals ${counted} of ${required}: it allows ${base.allows}`, {
      ...(rv ? { approvedTargetResourceVersion: rv } : {}),
    });
  }
  if (changed) return at('Active', `in use: ${targetName(unlock)} has changed since the request was approved`);
  return at('Approved', `approvals ${counted} of ${required}: it allows ${base.allows}`);
}
