// The after-the-fact review of an emergency unlock (pure): once approved, an emergency
// UnlockRequest needs reviewsRequired reviews by approvers (the strictest of its policies)
// within reviewWithin of its creation. Past that deadline without them it is a violation,
// reported in its status and by a Warning Event, until the reviews arrive.

import { checkApprovalAttestation, type ApprovalTrust } from '../../attestation/approval.ts';
import type { CompiledUnlock } from '../../policy/compile-unlock.ts';
import { isApprover, isEmergency, type ApprovalRule } from './approvals.ts';

export interface ReviewStatus {
  /** "1/2": reviews that count now, of those required. */
  reviews: string;
  reviewDeadline: string;
  reviewed: boolean;
  violation?: string;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** Undefined for an ordinary request, or an emergency one never approved (nothing happened to review). */
export function reviewStatus(
  unlock: CompiledUnlock,
  rules: readonly ApprovalRule[],
  now: number,
  approved: boolean,
  keys: ApprovalTrust,
): ReviewStatus | undefined {
  if (!approved || !isEmergency(unlock, rules)) return undefined;
  const required = Math.max(...rules.map((r) => r.unlock.emergency!.reviewsRequired));
  const within = Math.min(...rules.map((r) => r.unlock.emergency!.reviewWithinMs));
  // Only reviews Bulwark attested count: a review written while it was away would hide a violation.
  const counted = unlock.reviews.filter(
    (r) =>
      r.groups !== undefined &&
      checkApprovalAttestation(keys, unlock.uid, r.stored, 'reviews').ok &&
      rules.every((rule) => isApprover(rule.unlock, r.user, r.groups!)),
  ).length;
  const deadline = unlock.createdAtMs + within;
  const reviewed = counted >= required;
  return {
    reviews: `${counted}/${required}`,
    reviewDeadline: iso(deadline),
    reviewed,
    ...(!reviewed && now >= deadline
      ? {
          violation:
            `emergency unlock not reviewed by ${iso(deadline)}: ${counted} of ${required} reviews ` +
            `(kubectl bulwark unlock review ${unlock.name})`,
        }
      : {}),
  };
}
