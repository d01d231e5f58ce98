// Who locked an object, for its first seal (pure). The audit loop seals what it observes,
// some time after the request; the replica that admitted the lock left an attribution
// record (attestation/attribution.ts). A record counts only when its MAC checks, it names
// this object (group, kind, namespace, name, and uid when it has one), the lock label as
// it is now, the content the object has now, and it was made within the window before the
// seal. Of several, the newest wins. Without one the seal says `unknown`, why, and which
// client set the label (managedFields: a tool, never a person, so only a hint).

import type { KubeObject } from '../../admission/types.ts';
import { checkAttribution, type LockAttributionSpec } from '../../attestation/attribution.ts';
import type { AttestationKeyRing } from '../../attestation/keys.ts';
import type { LockedBy, SealTarget } from '../../attestation/seal.ts';
import { groupOf } from '../../policy/compile-unlock.ts';
import type { LockLabel } from '../../policy/compiled.ts';

/** How long a record waits for its seal (the leader's watch seals at once; a scan within the interval). */
export const ATTRIBUTION_WINDOW_MS = 15 * 60_000;
/** Replicas' clocks may differ a little: a record stamped slightly after the seal still counts. */
const CLOCK_SKEW_MS = 60_000;

/** The records as read from the cluster, or why they could not be read. */
export type AttributionLookup = { records: readonly LockAttributionSpec[] } | { unavailable: string };

export interface LockedByInput {
  target: SealTarget;
  object: KubeObject;
  /** The object's sealed-content hash now. */
  hash: string;
  lockLabel: LockLabel;
  attributions: AttributionLookup | undefined;
  keys: AttestationKeyRing;
  now: number;
}

const namesTarget = (r: LockAttributionSpec, t: SealTarget) =>
  r.target?.group === groupOf(t.apiVersion) &&
  r.target.kind === t.kind &&
  r.target.namespace === t.namespace &&
  r.target.name === t.name &&
  (r.target.uid === undefined || r.target.uid === t.uid);

const recordApiVersion = (r: LockAttributionSpec) =>
  r.target.group ? `${r.target.group}/${r.target.version}` : r.target.version;

/** Whether the record admitted the object's state: the lock label, and (read at the same version) its content. */
function admittedThis(r: LockAttributionSpec, input: LockedByInput): boolean {
  const { lockLabel, target, hash } = input;
  if (r.label?.key !== lockLabel.key || r.label.value !== lockLabel.value) return false;
  // Read at another version, the content differs by conversion alone: identity must do.
  return recordApiVersion(r) !== target.apiVersion || r.hash === hash;
}

function inWindow(r: LockAttributionSpec, now: number): boolean {
  const at = Date.parse(r.at);
  return Number.isFinite(at) && at <= now + CLOCK_SKEW_MS && at >= now - ATTRIBUTION_WINDOW_MS;
}

/** The manager that owns the lock label in managedFields (the last one listed, if several). */
export function labelManager(object: KubeObject, key: string): string | undefined {
  const entries = (object.metadata as { managedFields?: unknown } | undefined)?.managedFields;
  if (!Array.isArray(entries)) return undefined;
  let manager: string | undefined;
  for (const entry of entries as { manager?: unknown; fieldsV1?: Record<string, Record<string, unknown>> }[]) {
    const labels = entry?.fieldsV1?.['f:metadata']?.['f:labels'] as Record<string, unknown> | undefined;
    if (labels && `f:${key}` in labels && typeof entry.manager === 'string') manager = entry.manager;
  }
  return manager;
}

function unknown(input: LockedByInput, why: string): LockedBy {
  const fieldManager = labelManager(input.object, input.lockLabel.key);
  return { user: 'unknown', why, ...(fieldManager ? { fieldManager } : {}) };
}

export function lockedByOf(input: LockedByInput): LockedBy {
  const lookup = input.attributions;
  if (!lookup) return unknown(input, 'no attribution records were looked up');
  if ('unavailable' in lookup)
    return unknown(input, `the attribution records could not be read: ${lookup.unavailable}`);
  const aimed = lookup.records.filter((r) => namesTarget(r, input.target));
  const genuine = aimed.filter((r) => checkAttribution(input.keys, r).ok);
  const found = genuine
    .filter((r) => inWindow(r, input.now) && admittedThis(r, input))
    .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))[0];
  if (found) return { user: found.user, groups: [...found.groups], requestUid: found.requestUid, at: found.at };
  const forged = aimed.length - genuine.length;
  return unknown(
    input,
    (forged > 0
      ? `${forged} record(s) naming this object are not Bulwark's (forged or altered) and were ignored; `
      : '') +
      'Bulwark recorded no lock of this object in the last 15 minutes: it was locked while Bulwark was away, ' +
      'or the admitting replica could not record it (metric bulwark_lock_attribution_failures_total)',
  );
}
