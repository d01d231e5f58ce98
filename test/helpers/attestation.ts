// Attestation keys for tests: the snapshots of test/helpers/snapshots.ts carry this ring,
// and UnlockRequests made by test/helpers/unlock.ts carry approvals attested with it, as
// Bulwark's mutating webhook stamps them in a cluster.

import { attestApproval, type ApprovalContent, type SignOffList } from '../../src/attestation/approval.ts';
import { keyRingOf, type AttestationKeyRing } from '../../src/attestation/keys.ts';

export const TEST_KEY_ID = '20261129T000000Z-test';
export const TEST_KEYS: AttestationKeyRing = keyRingOf(new Map([[TEST_KEY_ID, new Uint8Array(32).fill(7)]]))!;
/** Another ring: what an attacker without Bulwark's key could sign with. */
export const OTHER_KEYS: AttestationKeyRing = keyRingOf(new Map([[TEST_KEY_ID, new Uint8Array(32).fill(9)]]))!;

export const ATTESTED_AT = '2026-11-25T10:01:00Z';

/** The approval (or an entry of `list`) with Bulwark's attestation for the UnlockRequest `uid`. */
export function attested<T extends ApprovalContent>(
  uid: string,
  approval: T,
  ring = TEST_KEYS,
  at = ATTESTED_AT,
  list: SignOffList = 'approvals',
): T {
  return { ...approval, attestation: attestApproval(ring, uid, approval, at, list) };
}
