// Lock attributions: who locked an object. managedFields only name a client tool, and the
// seal is written later by the audit loop, which no longer knows who made the request.
// So the replica that admits a lock (a CREATE carrying the lock label, or an UPDATE adding
// it) records the request's uid, user and groups as the apiserver authenticated them, the
// time, the object and the label change, with an HMAC under Bulwark's key (its own
// purpose: a record never passes as a seal or an approval). The audit loop consumes the
// record when it seals that object (rules/ledger/locked-by.ts). Anyone who can write one
// without the key makes a record that does not check, so it never names anybody.

import type { AdmissionRequest } from '../admission/types.ts';
import { checkRecord, signRecord, type AttestationKeyRing, type MacCheck } from './keys.ts';
import { contentHash } from './seal.ts';
import { groupsOf, recordsPath, requestTargetOf, type RequestTarget } from './admitted-request.ts';

export const ATTRIBUTION_PURPOSE = 'bulwark.dev/lock-attribution/v1';
export const ATTRIBUTION_KIND = 'LockAttribution';
export const attributionsPath = (namespace: string) => recordsPath(namespace, 'lockattributions');

/** `uid` is absent only when the review carried none. */
export type AttributionTarget = RequestTarget;

export interface LockAttributionSpec {
  requestUid: string;
  operation: 'CREATE' | 'UPDATE';
  user: string;
  groups: string[];
  /** When Bulwark admitted the lock (RFC 3339). */
  at: string;
  target: AttributionTarget;
  /** The label change admitted: `from` is the earlier value, absent when there was none. */
  label: { key: string; value: string; from?: string };
  /** The admitted object's sealed-content hash (attestation/seal.ts): the state that was locked. */
  hash: string;
  attestation: { keyId: string; mac: string };
}

type Unsigned = Omit<LockAttributionSpec, 'attestation'>;

const labelOf = (o: AdmissionRequest['object'], key: string) => o?.metadata?.labels?.[key];

/**
 * The record for a request that locks an object (its own write, not a subresource's),
 * or undefined when the request does not lock anything.
 */
export function attributionOf(
  request: AdmissionRequest,
  label: { key: string; value: string },
  at: string,
): Unsigned | undefined {
  if (request.subResource !== undefined || !request.object) return undefined;
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return undefined;
  if (labelOf(request.object, label.key) !== label.value) return undefined;
  const from = request.operation === 'UPDATE' ? labelOf(request.oldObject, label.key) : undefined;
  if (from === label.value) return undefined;
  const metadata = request.object.metadata ?? {};
  const uid = metadata.uid ?? request.oldObject?.metadata?.uid;
  const name = metadata.name ?? request.name;
  const user = request.userInfo.username;
  if (!name || !user) return undefined;
  return {
    requestUid: request.uid,
    operation: request.operation,
    user,
    groups: groupsOf(request),
    at,
    target: requestTargetOf(request, name, uid),
    label: { key: label.key, value: label.value, ...(from !== undefined ? { from } : {}) },
    hash: contentHash(request.object),
  };
}

export function signAttribution(ring: AttestationKeyRing, record: Unsigned): LockAttributionSpec {
  return signRecord(ring, ATTRIBUTION_PURPOSE, record);
}

export function checkAttribution(ring: AttestationKeyRing, record: LockAttributionSpec): MacCheck {
  return checkRecord(ring, ATTRIBUTION_PURPOSE, record);
}
