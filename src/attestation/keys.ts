// Bulwark's attestation keys: HMAC-SHA256 keys with ids, held only by Bulwark (a Secret in
// its namespace). It signs with the newest and verifies with any, so a key can be added,
// rolled out to every replica, and the old one removed once nothing it attested is still
// in use (see the README, "Attested approvals").

import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalDecimal, isJsonNumber } from '../json/numbers.ts';

export interface AttestationKeyRing {
  /** Key bytes by id. */
  keys: ReadonlyMap<string, Uint8Array>;
  /** The id new attestations are made with: the greatest id (ids start with their creation time). */
  signingKeyId: string;
}

/** Ids sort by creation time when they start with it: `20261129T052000Z-3f9a1c`. */
export function keyRingOf(keys: ReadonlyMap<string, Uint8Array>): AttestationKeyRing | undefined {
  const ids = [...keys.keys()].sort();
  const signingKeyId = ids[ids.length - 1];
  return signingKeyId === undefined ? undefined : { keys, signingKeyId };
}

/**
 * Sorted keys, no whitespace, numbers by their exact value (a lossless parser's literal
 * too): the same value always gives the same text, whoever wrote it.
 */
export function canonicalJson(value: unknown): string {
  if (isJsonNumber(value)) return canonicalDecimal(typeof value === 'number' ? JSON.stringify(value) : value.rawJSON);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface Mac {
  keyId: string;
  mac: string;
}

/** HMAC-SHA256 of `purpose` and the canonical text of `value`, with the signing key; base64. */
export function macOf(ring: AttestationKeyRing, purpose: string, value: unknown): Mac {
  const key = ring.keys.get(ring.signingKeyId)!;
  return { keyId: ring.signingKeyId, mac: hmac(key, purpose, value) };
}

function hmac(key: Uint8Array, purpose: string, value: unknown): string {
  // The purpose separates domains: an approval's MAC can never pass as a seal's.
  return createHmac('sha256', key).update(`${purpose}\n`).update(canonicalJson(value)).digest('base64');
}

export type MacCheck = { ok: true } | { ok: false; why: string };

/** Whether `mac` is the MAC of `value` with the key it names; constant-time comparison. */
export function checkMac(ring: AttestationKeyRing, purpose: string, value: unknown, mac: Mac): MacCheck {
  const key = ring.keys.get(mac.keyId);
  if (!key) return { ok: false, why: `its key ${JSON.stringify(mac.keyId)} is not one of Bulwark's keys` };
  const expected = Buffer.from(hmac(key, purpose, value), 'base64');
  const given = Buffer.from(mac.mac, 'base64');
  return expected.length === given.length && timingSafeEqual(expected, given)
    ? { ok: true }
    : { ok: false, why: 'its MAC does not match (forged or altered)' };
}

/** `record` with `attestation`: its MAC under `purpose` (records Bulwark writes: attributions, unlocked changes). */
export function signRecord<T extends object>(
  ring: AttestationKeyRing,
  purpose: string,
  record: T,
): T & { attestation: Mac } {
  return { ...record, attestation: macOf(ring, purpose, record) };
}

/** Whether a record's `attestation` is Bulwark's MAC of the rest of it under `purpose`. */
export function checkRecord(
  ring: AttestationKeyRing,
  purpose: string,
  record: { attestation?: Mac } | undefined,
): MacCheck {
  const { attestation, ...content } = record ?? {};
  if (typeof attestation?.keyId !== 'string' || typeof attestation.mac !== 'string')
    return { ok: false, why: 'it carries no attestation' };
  return checkMac(ring, purpose, content, attestation);
}
