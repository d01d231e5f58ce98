// Unlocked changes: proof that a change of a locked object went through Bulwark's admission
// under an UnlockRequest. The drift audit sees only hashes (it keeps no old content), so it
// cannot tell the change an unlock bound to a --patch allowed from any other change made
// while the webhook was away. The replica that admits a change under an unlock therefore
// records "object U changed under unlock X from content hash A to B, at T, by whom, over
// resourceVersion R", with an HMAC under Bulwark's key (its own purpose: a record never
// passes as a seal, an approval or a lock attribution). The audit re-seals a change under
// an unlock only along such records (rules/ledger/unlocked-changes.ts). Nobody without the
// key can write one that checks, and the webhook writes none while it is away.

import type { AdmissionRequest } from '../admission/types.ts';
import { checkRecord, signRecord, type AttestationKeyRing, type MacCheck } from './keys.ts';
import { contentHash } from './seal.ts';
import { groupsOf, recordsPath, requestTargetOf } from './admitted-request.ts';

export const UNLOCKED_CHANGE_PURPOSE = 'bulwark.dev/unlocked-change/v1';
export const UNLOCKED_CHANGE_KIND = 'UnlockedChange';
export const unlockedChangesPath = (namespace: string) => recordsPath(namespace, 'unlockedchanges');

/** The UnlockRequest (or LocalUnlockRequest) that let the change through, as messages and seals name it. */
export interface UnlockRef {
  kind: string;
  /** A LocalUnlockRequest's namespace, or a cluster-scoped UnlockRequest's target namespace. */
  namespace?: string;
  name: string;
}

export interface UnlockedChangeSpec {
  requestUid: string;
  user: string;
  groups: string[];
  /** When Bulwark admitted the change (RFC 3339). */
  at: string;
  target: { group: string; version: string; kind: string; namespace?: string; name: string; uid: string };
  unlock: UnlockRef;
  /** The sealed-content hash (attestation/seal.ts) before and after the change. */
  from: string;
  to: string;
  /** The resourceVersion the change was made over: which stored state it left. */
  fromResourceVersion: string;
  attestation: { keyId: string; mac: string };
}

type Unsigned = Omit<UnlockedChangeSpec, 'attestation'>;

/**
 * The record of an UPDATE of an object's own content (not a subresource) that `unlock` let
 * through and that changes the sealed content; undefined for anything else.
 */
export function unlockedChangeOf(request: AdmissionRequest, unlock: UnlockRef, at: string): Unsigned | undefined {
  if (request.operation !== 'UPDATE' || request.subResource !== undefined) return undefined;
  const { object, oldObject } = request;
  const uid = oldObject?.metadata?.uid;
  const name = oldObject?.metadata?.name ?? request.name;
  const fromResourceVersion = oldObject?.metadata?.resourceVersion;
  const user = request.userInfo.username;
  if (!object || !oldObject || typeof uid !== 'string' || !uid || !name || !user) return undefined;
  if (typeof fromResourceVersion !== 'string') return undefined;
  const from = contentHash(oldObject);
  const to = contentHash(object);
  if (from === to) return undefined;
  return {
    requestUid: request.uid,
    user,
    groups: groupsOf(request),
    at,
    target: { ...requestTargetOf(request, name, uid), uid },
    unlock,
    from,
    to,
    fromResourceVersion,
  };
}

export function signUnlockedChange(ring: AttestationKeyRing, record: Unsigned): UnlockedChangeSpec {
  return signRecord(ring, UNLOCKED_CHANGE_PURPOSE, record);
}

export function checkUnlockedChange(ring: AttestationKeyRing, record: UnlockedChangeSpec): MacCheck {
  return checkRecord(ring, UNLOCKED_CHANGE_PURPOSE, record);
}
