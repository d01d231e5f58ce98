// Rollback as a pre-approved path (pure): an UnlockRequest with spec.rollback unlocks only an
// UPDATE that returns the object to an earlier sealed state, and needs the governing
// policies' `unlock.rollbackApprovals` instead of the approvals a new change needs. The
// state must be one Bulwark sealed for this very object: the Seal's MAC must check with
// Bulwark's key and name the object's uid, and the new object's content hash (the seal's
// normalisation) must be the one the request names. A state never sealed, a seal anyone
// else wrote, or an update that lands elsewhere gets no discount: the unlock does not apply.

import type { KubeObject } from '../../admission/types.ts';
import { keyRingOf, type ApprovalTrust } from '../../attestation/approval.ts';
import { checkSeal, contentHash, type SealSpec } from '../../attestation/seal.ts';
import type { SealFact } from '../../decision/facts.ts';

/** The hashes of the states Bulwark sealed for an object (current and history), or why they are unknown. */
export type SealedStates = { ok: true; hashes: ReadonlySet<string> } | { ok: false; why: string };

/** Sealed states from a Seal Bulwark holds already checked (the audit's own). */
export function statesOf(seal: SealSpec): SealedStates {
  return { ok: true, hashes: new Set([seal.current.hash, ...seal.history.map((s) => s.hash)]) };
}

/** Sealed states from the Seal the shell read, checked here: Bulwark's MAC, and the object's uid. */
export function sealedStatesOf(
  fact: SealFact | undefined,
  trust: ApprovalTrust,
  uid: string | undefined,
): SealedStates {
  if (!fact) return { ok: false, why: 'its Seal was not looked up' };
  if (fact.status === 'unavailable') return { ok: false, why: `its Seal cannot be read: ${fact.reason}` };
  if (fact.status === 'absent') return { ok: false, why: 'it has no Seal (the audit has not sealed it)' };
  const keys = keyRingOf(trust);
  if (!keys) return { ok: false, why: 'Bulwark has no key to check its Seal with' };
  const seal = fact.seal as SealSpec;
  if (
    typeof seal !== 'object' ||
    seal === null ||
    typeof seal.current?.hash !== 'string' ||
    !Array.isArray(seal.history)
  )
    return { ok: false, why: 'its Seal is malformed' };
  const valid = checkSeal(keys, seal);
  if (!valid.ok) return { ok: false, why: `its Seal is not Bulwark's (${valid.why})` };
  if (!uid || seal.target?.uid !== uid) return { ok: false, why: 'its Seal names another object' };
  return statesOf(seal);
}

/** Why this update is not the rollback the request names; undefined when it is. */
export function rollbackProblem(
  hash: string,
  states: SealedStates | undefined,
  newObject: KubeObject | undefined,
): string | undefined {
  if (!states) return 'it is a rollback, and the sealed states of its target are not known here';
  if (!states.ok) return `it is a rollback, and the sealed states of its target are unknown: ${states.why}`;
  if (!states.hashes.has(hash)) return `it is a rollback to ${hash}, which is not a state Bulwark sealed for it`;
  if (!newObject) return 'it unlocks only a rollback (an UPDATE)';
  const landed = contentHash(newObject);
  return landed === hash
    ? undefined
    : `it is a rollback to ${hash}, and this update would make the content ${landed}, not that state`;
}
