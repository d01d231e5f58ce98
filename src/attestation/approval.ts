// Attested approvals: Bulwark's mutating webhook stamps each approval it admits (and each
// rejection and review, under a purpose of their own so that no entry can be moved from one
// list to another) with an HMAC over the UnlockRequest's uid, the approval as written (its user and groups, which
// the stamp requires to be exactly the author's as the apiserver reported them; its time
// and comment) and the time of admission. At use time only approvals whose stamp checks
// count: one written while Bulwark was away has none, a copied one names another uid, an
// edited one no longer matches, and nobody without the key can make one.

import type { AttestationKeyRing, MacCheck } from './keys.ts';
import { checkMac, macOf } from './keys.ts';

export const APPROVAL_PURPOSE = 'bulwark.dev/approval-attestation/v1';

/** The append-only lists of an UnlockRequest whose entries Bulwark attests. */
export type SignOffList = 'approvals' | 'rejections' | 'reviews';
export const SIGN_OFF_LIST_NAMES: readonly SignOffList[] = ['approvals', 'rejections', 'reviews'];

const PURPOSES: Record<SignOffList, string> = {
  approvals: APPROVAL_PURPOSE,
  rejections: 'bulwark.dev/rejection-attestation/v1',
  reviews: 'bulwark.dev/review-attestation/v1',
};

export interface ApprovalAttestation {
  keyId: string;
  /** When Bulwark admitted the approval (RFC 3339). */
  at: string;
  mac: string;
}

/** An approval as stored, attestation apart. */
export type ApprovalContent = Readonly<Record<string, unknown>>;

/** The approval without its attestation: what the MAC covers, with the request uid and the time. */
export function withoutAttestation(approval: ApprovalContent): ApprovalContent {
  const { attestation: _, ...content } = approval;
  return content;
}

export function attestApproval(
  ring: AttestationKeyRing,
  uid: string,
  approval: ApprovalContent,
  at: string,
  list: SignOffList = 'approvals',
): ApprovalAttestation {
  const { keyId, mac } = macOf(ring, PURPOSES[list], { uid, at, approval: withoutAttestation(approval) });
  return { keyId, at, mac };
}

function isAttestation(value: unknown): value is ApprovalAttestation {
  const a = value as Partial<ApprovalAttestation> | null;
  return (
    typeof a === 'object' &&
    a !== null &&
    typeof a.keyId === 'string' &&
    typeof a.at === 'string' &&
    typeof a.mac === 'string'
  );
}

/**
 * For a reader without the keys (the kubectl plugin's status): the attestation's presence and
 * form are checked, its MAC is not. Only the webhook, which holds the keys, can tell a forged
 * one; the plugin's counts are therefore an upper bound, and it says so.
 */
export const MAC_NOT_CHECKED = 'mac-not-checked';
/**
 * For offline simulations (`bulwark test`, `bulwark check`, `bulwark review`): the approvals
 * they are given are taken as admitted by Bulwark, attested or not, since what is simulated is
 * the policy, not the approval's way in. A present attestation must still be well formed.
 */
export const ATTESTATION_ASSUMED = 'attestation-assumed';

/** How approvals' attestations are checked: with Bulwark's keys (the webhook), or one of the above. */
export type ApprovalTrust = AttestationKeyRing | typeof MAC_NOT_CHECKED | typeof ATTESTATION_ASSUMED | undefined;

/** The keys themselves, where there are any (the webhook's own trust), else undefined. */
export function keyRingOf(trust: ApprovalTrust): AttestationKeyRing | undefined {
  return typeof trust === 'string' ? undefined : trust;
}

/** Whether a stored approval (or entry of `list`) carries Bulwark's valid attestation for the UnlockRequest `uid`. */
export function checkApprovalAttestation(
  ring: ApprovalTrust,
  uid: string | undefined,
  approval: ApprovalContent,
  list: SignOffList = 'approvals',
): MacCheck {
  const attestation = approval.attestation;
  if (attestation === undefined && ring === ATTESTATION_ASSUMED) return { ok: true };
  if (attestation === undefined) return { ok: false, why: 'it carries no attestation by Bulwark' };
  if (!isAttestation(attestation)) return { ok: false, why: 'its attestation is malformed' };
  if (ring === MAC_NOT_CHECKED || ring === ATTESTATION_ASSUMED) return { ok: true };
  if (!ring) return { ok: false, why: 'Bulwark has no attestation key to check it with' };
  if (!uid) return { ok: false, why: 'the UnlockRequest has no uid' };
  const payload = { uid, at: attestation.at, approval: withoutAttestation(approval) };
  return checkMac(ring, PURPOSES[list], payload, attestation);
}
