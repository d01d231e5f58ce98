// Seals: what a locked object's content was when Bulwark last saw it locked legitimately.
// A seal names the object (kind, namespace, name, uid), the hash of its content (the
// diff's normalisation: status and the apiserver's bookkeeping left out, numbers exact),
// who locked or last changed it with which UnlockRequest, and the last sealed states for
// rollback; an HMAC with Bulwark's key covers all of it, so an edited seal is detected.

import { createHash } from 'node:crypto';
import type { KubeObject } from '../admission/types.ts';
import { DEPLOYMENT_REVISION, LAST_APPLIED, SYSTEM_METADATA } from '../diff/bookkeeping.ts';
import { canonicalJson, checkMac, macOf, type AttestationKeyRing, type MacCheck } from './keys.ts';

export const SEAL_PURPOSE = 'bulwark.dev/seal/v1';
/** Where Seals live (cluster-scoped, each named after its object's uid). */
export const SEALS_PATH = '/apis/bulwark.dev/v1alpha1/seals';
/** How many earlier sealed states a seal keeps (rollback targets). */
export const SEAL_HISTORY = 10;

/**
 * The content a seal covers: the object without status, without the metadata the
 * apiserver maintains (and uid, creationTimestamp, which the seal's target names), and
 * without the bookkeeping annotations the diff accepts on locked objects.
 */
export function sealedContent(object: KubeObject): KubeObject {
  const { status: _, metadata = {}, ...rest } = object as KubeObject & { status?: unknown };
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (SYSTEM_METADATA.has(key) || key === 'uid' || key === 'creationTimestamp') continue;
    kept[key] = value;
  }
  const annotations = { ...((metadata.annotations as Record<string, string> | undefined) ?? {}) };
  delete annotations[LAST_APPLIED];
  delete annotations[DEPLOYMENT_REVISION];
  if (Object.keys(annotations).length > 0) kept.annotations = annotations;
  else delete kept.annotations;
  return { ...rest, metadata: kept } as KubeObject;
}

/** `sha256:<hex>` of the sealed content's canonical JSON. */
export function contentHash(object: KubeObject): string {
  return `sha256:${createHash('sha256')
    .update(canonicalJson(sealedContent(object)))
    .digest('hex')}`;
}

export interface SealTarget {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  uid: string;
}

/** One sealed state: a content hash, when it was sealed, and why (locked, or an approved unlock). */
export interface SealedState {
  hash: string;
  at: string;
  /** `locked` when first sealed, `unlocked` after a change an UnlockRequest allowed, `rollback` after one. */
  reason: 'locked' | 'unlocked' | 'rollback';
  /** The UnlockRequest's name (kept for readers of older seals; `unlock` names it fully). */
  unlockRequest?: string;
  approvers?: string[];
  /** The UnlockRequest or LocalUnlockRequest that allowed the change, and who asked for it. */
  unlock?: { kind: string; namespace?: string; name: string; requester: string };
  /** Who made the change, as the apiserver authenticated them to the admitting replica. */
  changedBy?: { user: string; groups: string[]; requestUid: string; at: string };
  /** The admitted changes (their request uids) this state was sealed from: spent, never credited again. */
  records?: string[];
}

/**
 * Who locked the object: the user and groups the apiserver authenticated for the request
 * that Bulwark admitted (from its attribution record, attribution.ts). `user` is `unknown`
 * when there is none; then `why` says so and `fieldManager` names the client that set the
 * label (a hint: managedFields name a tool, not a person).
 */
export interface LockedBy {
  user: string;
  groups?: string[];
  requestUid?: string;
  at?: string;
  fieldManager?: string;
  why?: string;
}

export interface SealSpec {
  target: SealTarget;
  /** Absent on seals written before attribution existed. */
  lockedBy?: LockedBy;
  current: SealedState;
  /** Earlier states, newest first, at most SEAL_HISTORY. */
  history: SealedState[];
  attestation: { keyId: string; mac: string };
}

type Unsigned = Omit<SealSpec, 'attestation'>;

export function signSeal(ring: AttestationKeyRing, seal: Unsigned): SealSpec {
  const { keyId, mac } = macOf(ring, SEAL_PURPOSE, seal);
  return { ...seal, attestation: { keyId, mac } };
}

export function checkSeal(ring: AttestationKeyRing, seal: SealSpec): MacCheck {
  const { attestation, ...content } = seal;
  if (typeof attestation?.keyId !== 'string' || typeof attestation.mac !== 'string')
    return { ok: false, why: 'it carries no attestation' };
  return checkMac(ring, SEAL_PURPOSE, content, attestation);
}

/** A new current state; the old one moves into the history, which keeps the newest SEAL_HISTORY. */
export function reseal(seal: Unsigned, next: SealedState): Unsigned {
  return { ...seal, current: next, history: [seal.current, ...seal.history].slice(0, SEAL_HISTORY) };
}
