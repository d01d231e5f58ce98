// Whether a change the audit sees went through Bulwark's admission under an unlock (pure).
// The audit holds hashes only: the seal's S and the live object's H. An unlock in force is
// not enough to re-seal H (a change made while the webhook was away, in the window of an
// unlock bound to one exact --patch, would pass as the approved one), so the audit follows
// the records the admitting replicas wrote (attestation/unlocked-change.ts): a chain of
// genuine records for this very object (uid included), each under an unlock in force now,
// read at the audit's apiVersion, in the order they were admitted, from S to H.
//
// Replays: a record A->B stays genuine after the object went A->B->A through admission, and
// an attacker could write B again while the webhook is away. Every later genuine record of
// the object (under any unlock, in force or not, used or not) must be explained by the
// chain: it left the live state (its resourceVersion is the live one: it never got stored,
// or is in flight), or it left the same stored state as a record of the chain (two writes
// from one state: only one was stored). The record B->A left a B that is not the live one,
// so the chain A->B does not explain the live B: drift. Records a seal consumed (listed in
// its states) never count again. Order is the records' admission time: replicas' clocks
// must agree to within the time between two changes of one object.

import type { KubeObject } from '../../admission/types.ts';
import type { AttestationKeyRing } from '../../attestation/keys.ts';
import type { SealSpec, SealTarget } from '../../attestation/seal.ts';
import { checkUnlockedChange, type UnlockedChangeSpec } from '../../attestation/unlocked-change.ts';
import { groupOf, type CompiledUnlock } from '../../policy/compile-unlock.ts';

/** Replicas' clocks may differ a little. */
const CLOCK_SKEW_MS = 60_000;
/** More records than this for one object within one unlock's window is not a legitimate sequence. */
const MAX_CHAIN_RECORDS = 32;
/** Steps of the chain search before it gives up (and the change is drift). */
const SEARCH_BUDGET = 10_000;

/** The records as read from the cluster, or why they could not be read. */
export type UnlockedChangeLookup = { records: readonly UnlockedChangeSpec[] } | { unavailable: string };

export interface InForce {
  unlock: CompiledUnlock;
  approvers: readonly string[];
}

export interface ChainInput {
  target: SealTarget;
  /** The object as it is now (changed or unlabelled). */
  object: KubeObject;
  /** Its content hash now. */
  hash: string;
  seal: SealSpec;
  /** The unlocks aimed at this object that allow this change now, each on its own. */
  inForce: readonly InForce[];
  records: UnlockedChangeLookup | undefined;
  keys: AttestationKeyRing;
  now: number;
}

export type ChainOutcome =
  | { ok: true; chain: readonly UnlockedChangeSpec[]; last: InForce }
  | { ok: false; why: string };

const sameUnlock = (r: UnlockedChangeSpec, u: CompiledUnlock) =>
  r.unlock?.kind === u.kind && r.unlock.name === u.name && r.unlock.namespace === u.namespace;

const namesTarget = (r: UnlockedChangeSpec, t: SealTarget) =>
  r.target?.uid === t.uid &&
  r.target.group === groupOf(t.apiVersion) &&
  r.target.kind === t.kind &&
  r.target.namespace === t.namespace &&
  r.target.name === t.name;

const apiVersionOf = (r: UnlockedChangeSpec) =>
  r.target.group ? `${r.target.group}/${r.target.version}` : r.target.version;

/** Request uids of the records the seal's states were made from: spent. */
function spent(seal: SealSpec): Set<string> {
  return new Set([seal.current, ...seal.history].flatMap((s) => s.records ?? []));
}

interface Evidence {
  record: UnlockedChangeSpec;
  at: number;
}

interface Usable extends Evidence {
  by: InForce;
}

/**
 * The records that may take part in a chain, oldest first; every genuine record of this
 * object (the evidence a chain must explain, whatever its unlock); counts for the message.
 */
function usableRecords(input: ChainInput, records: readonly UnlockedChangeSpec[]) {
  const used = spent(input.seal);
  const notes = { forged: 0, otherVersion: 0, outsideUnlock: 0, spent: 0 };
  const usable: Usable[] = [];
  const evidence: Evidence[] = [];
  for (const record of records) {
    if (!namesTarget(record, input.target)) continue;
    const genuine = checkUnlockedChange(input.keys, record).ok;
    if (genuine) evidence.push({ record, at: Date.parse(record.at) });
    if (!genuine) notes.forged += 1;
    else if (used.has(record.requestUid)) notes.spent += 1;
    else if (apiVersionOf(record) !== input.target.apiVersion) notes.otherVersion += 1;
    else {
      const at = Date.parse(record.at);
      const by = input.inForce.find(
        (f) =>
          sameUnlock(record, f.unlock) &&
          at >= f.unlock.createdAtMs - CLOCK_SKEW_MS &&
          at <= Math.min(f.unlock.expiresAtMs, input.now) + CLOCK_SKEW_MS,
      );
      if (by && Number.isFinite(at)) usable.push({ record, at, by });
      else notes.outsideUnlock += 1;
    }
  }
  usable.sort((a, b) => a.at - b.at);
  return { usable: usable.slice(-MAX_CHAIN_RECORDS), evidence, notes };
}

/**
 * Every genuine record admitted after the chain's first is on it, left the live state, or
 * left a stored state a chain record left. (A record without a readable time is never
 * taken as earlier.)
 */
function explained(chain: readonly Usable[], evidence: readonly Evidence[], liveVersion: string | undefined): boolean {
  const on = new Set(chain.map((c) => c.record));
  const left = new Set(chain.map((c) => c.record.fromResourceVersion));
  const start = chain[0]!.at;
  return evidence.every(
    (e) =>
      on.has(e.record) ||
      e.at < start ||
      e.record.fromResourceVersion === liveVersion ||
      left.has(e.record.fromResourceVersion),
  );
}

/** A chain of records from the seal's hash to the live one, in admission order, explaining every later record. */
function findChain(usable: readonly Usable[], evidence: readonly Evidence[], input: ChainInput): Usable[] | undefined {
  const liveVersion = input.object.metadata?.resourceVersion;
  // Genuine records only ever come from admitted changes: few. The budget bounds the search anyway.
  let budget = SEARCH_BUDGET;
  const extend = (chain: Usable[], state: string, after: number): Usable[] | undefined => {
    budget -= 1;
    if (budget < 0) return undefined;
    if (chain.length > 0 && state === input.hash && explained(chain, evidence, liveVersion)) return chain;
    for (let i = after; i < usable.length; i += 1) {
      const next = usable[i]!;
      if (next.record.from !== state || next.record.fromResourceVersion === liveVersion) continue;
      if (chain.some((c) => c.record.fromResourceVersion === next.record.fromResourceVersion)) continue;
      const found = extend([...chain, next], next.record.to, i + 1);
      if (found) return found;
    }
    return undefined;
  };
  const fromSeal = extend([], input.seal.current.hash, 0);
  if (fromSeal) return fromSeal;
  // A rollback names the exact state it returns to, one Bulwark sealed: from wherever the
  // object was (drift included), its one admitted change to that state is the approved one.
  const rollback = usable.find(
    (u) => u.by.unlock.rollbackTo === input.hash && u.record.to === input.hash && explained([u], evidence, liveVersion),
  );
  return rollback ? [rollback] : undefined;
}

function whyNone(input: ChainInput, notes: ReturnType<typeof usableRecords>['notes'], usable: number): string {
  const parts = [
    notes.forged > 0 ? `${notes.forged} record(s) naming it are not Bulwark's (forged or altered)` : '',
    notes.spent > 0 ? `${notes.spent} record(s) were used by an earlier seal` : '',
    notes.otherVersion > 0 ? `${notes.otherVersion} record(s) were admitted at another apiVersion` : '',
    notes.outsideUnlock > 0 ? `${notes.outsideUnlock} record(s) name no unlock in force at their time` : '',
    usable > 0
      ? `${usable} admitted change(s) do not lead from the sealed state to this one, or it left that state since`
      : '',
  ].filter(Boolean);
  return (
    `Bulwark admitted no change from ${input.seal.current.hash} to ${input.hash} under it` +
    (parts.length > 0 ? ` (${parts.join('; ')})` : '') +
    ': a change made while the webhook was away, or one whose record could not be written ' +
    '(bulwark_unlocked_change_record_failures_total)'
  );
}

export function changeThroughAdmission(input: ChainInput): ChainOutcome {
  const lookup = input.records;
  if (!lookup) return { ok: false, why: 'the records of admitted changes were not looked up' };
  if ('unavailable' in lookup)
    return { ok: false, why: `the records of admitted changes cannot be read: ${lookup.unavailable}` };
  const { usable, evidence, notes } = usableRecords(input, lookup.records);
  const chain = findChain(usable, evidence, input);
  if (!chain) return { ok: false, why: whyNone(input, notes, usable.length) };
  return { ok: true, chain: chain.map((c) => c.record), last: chain[chain.length - 1]!.by };
}
