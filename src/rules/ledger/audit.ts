// The drift audit's judgement of one locked object against its seal (pure). In order: the
// content hash is the sealed one. New lock: seal it (locking is always allowed). Changed or
// unlabelled: legitimate only when an UnlockRequest in force now, with enough approvals
// Bulwark attested, allows that operation on this object AND the change went through
// Bulwark's admission under it, proven by the records the admitting replicas signed
// (unlocked-changes.ts); then re-seal, naming the request, its requester and approvers and
// who made the change (or release the seal of an unlabelled object). Every unlock needs
// the records, not only one bound to a --patch: whatever an unlock allows (an UPDATE bound to
// its requester, a rollback to one state), admission checked it, and a change made while the
// webhook was away was checked by nobody. Without them: drift (changed-outside-unlock).
// Deleted under a DELETE unlock: the seal is released (nothing is left to replay). A seal whose
// MAC does not check, or that names another object, is drift too: it cannot vouch for anything.

import type { KubeObject } from '../../admission/types.ts';
import type { AttestationKeyRing } from '../../attestation/keys.ts';
import { checkSeal, contentHash, reseal, type SealSpec, type SealTarget } from '../../attestation/seal.ts';
import type { CompiledUnlock } from '../../policy/compile-unlock.ts';
import { groupOf, unlockName } from '../../policy/compile-unlock.ts';
import type { PolicySnapshot } from '../../policy/compiled.ts';
import type { Labels } from '../../policy/selector.ts';
import { approvalRulesFor } from '../unlock/approval-rules.ts';
import { findUnlock } from '../unlock/match.ts';
import { statesOf } from '../unlock/rollback.ts';
import { lockedByOf, type AttributionLookup } from './locked-by.ts';
import { changeThroughAdmission, type InForce, type UnlockedChangeLookup } from './unlocked-changes.ts';

export type DriftReason = 'changed' | 'changed-outside-unlock' | 'unlabelled' | 'deleted' | 'seal-invalid';

export type AuditOutcome =
  | { kind: 'in-order' }
  | { kind: 'seal'; seal: Omit<SealSpec, 'attestation'> }
  | { kind: 'drift'; reason: DriftReason; message: string }
  /** Unlabelled or deleted under an approved unlock: the seal has nothing left to vouch for. */
  | { kind: 'release' };

export interface AuditInput {
  target: SealTarget;
  /** The object as it is now; absent when it no longer exists. */
  object?: KubeObject;
  seal?: SealSpec;
  snapshot: PolicySnapshot;
  keys: AttestationKeyRing;
  unlocks: readonly CompiledUnlock[];
  namespaceLabels?: Labels;
  /** Who locked what, recorded at admission: read for a first seal only. */
  attributions?: AttributionLookup;
  /** The changes Bulwark admitted under unlocks: read for a changed or unlabelled object under an unlock. */
  unlockedChanges?: UnlockedChangeLookup;
  now: number;
}

const describe = (t: SealTarget) => `${t.kind} ${t.namespace ? `${t.namespace}/` : ''}${t.name}`;

function isLocked(object: KubeObject | undefined, snapshot: PolicySnapshot): boolean {
  return object?.metadata?.labels?.[snapshot.lockLabel.key] === snapshot.lockLabel.value;
}

/** The unlocks aimed at this object that allow this operation now, each judged on its own; rollbacks first. */
function unlocksInForce(input: AuditInput, operation: 'UPDATE' | 'DELETE', unlabels: boolean): InForce[] {
  const { target, snapshot } = input;
  const unlockTarget = {
    group: groupOf(target.apiVersion),
    kind: target.kind,
    ...(target.namespace ? { namespace: target.namespace } : {}),
    name: target.name,
  };
  const aimed = input.unlocks.filter(
    (u) =>
      u.target.group === unlockTarget.group &&
      u.target.kind === unlockTarget.kind &&
      u.target.namespace === unlockTarget.namespace &&
      u.target.name === unlockTarget.name,
  );
  if (aimed.length === 0) return [];
  // A rollback names the exact state it allows: credit it before any unlock that covers more.
  const specificFirst = [...aimed].sort(
    (a, b) => Number(b.rollbackTo !== undefined) - Number(a.rollbackTo !== undefined),
  );
  const demand = {
    operation,
    rules: approvalRulesFor(snapshot, unlockTarget, input.object, input.namespaceLabels),
    now: input.now,
    keys: input.keys,
    afterwards: true,
    ...(input.object ? { newObject: input.object } : {}),
    ...(input.seal ? { sealedStates: statesOf(input.seal) } : {}),
    ...(unlabels ? { unlabels: true, changesContent: false } : {}),
  };
  return specificFirst.flatMap((u) => {
    const match = findUnlock([u], demand);
    return match.ok ? [{ unlock: match.unlock, approvers: match.approvers }] : [];
  });
}

export function auditObject(input: AuditInput): AuditOutcome {
  const { target, object, seal, snapshot, keys } = input;
  const at = new Date(input.now).toISOString();
  const locked = isLocked(object, snapshot);
  if (!seal) {
    if (!object || !locked) return { kind: 'in-order' };
    const hash = contentHash(object);
    const lockedBy = lockedByOf({
      target,
      object,
      hash,
      lockLabel: snapshot.lockLabel,
      attributions: input.attributions,
      keys,
      now: input.now,
    });
    return { kind: 'seal', seal: { target, lockedBy, current: { hash, at, reason: 'locked' }, history: [] } };
  }
  const valid = checkSeal(keys, seal);
  if (!valid.ok)
    return {
      kind: 'drift',
      reason: 'seal-invalid',
      message: `the seal of ${describe(target)} is not Bulwark's: ${valid.why}`,
    };
  if (seal.target.uid !== target.uid)
    return { kind: 'drift', reason: 'seal-invalid', message: `the seal of ${describe(target)} names another object` };
  const { attestation: _, ...unsigned } = seal;
  if (!object) {
    if (unlocksInForce(input, 'DELETE', false).length > 0) return { kind: 'release' };
    return {
      kind: 'drift',
      reason: 'deleted',
      message: `${describe(target)} was deleted outside the rules (sealed ${seal.current.hash} at ${seal.current.at})`,
    };
  }
  const hash = contentHash(object);
  if (locked && hash === seal.current.hash) return { kind: 'in-order' };
  const inForce = unlocksInForce(input, 'UPDATE', !locked);
  if (inForce.length === 0) {
    if (!locked)
      return {
        kind: 'drift',
        reason: 'unlabelled',
        message:
          `${describe(target)} was unlabelled outside the rules ` +
          `(sealed ${seal.current.hash} at ${seal.current.at})`,
      };
    return {
      kind: 'drift',
      reason: 'changed',
      message:
        `${describe(target)} changed outside the rules: its content is ${hash}, sealed ${seal.current.hash} ` +
        `at ${seal.current.at}`,
    };
  }
  const admitted = changeThroughAdmission({
    target,
    object,
    hash,
    seal,
    inForce,
    records: input.unlockedChanges,
    keys,
    now: input.now,
  });
  if (!admitted.ok)
    return {
      kind: 'drift',
      reason: 'changed-outside-unlock',
      message:
        `${describe(target)} was ${locked ? 'changed' : 'unlabelled'} while ` +
        `${inForce.map((f) => unlockName(f.unlock)).join(', ')} allowed it, but not through Bulwark: ${admitted.why}`,
    };
  if (!locked) return { kind: 'release' };
  const { unlock, approvers } = admitted.last;
  const change = admitted.chain[admitted.chain.length - 1]!;
  const next = {
    hash,
    at,
    reason: unlock.rollbackTo !== undefined ? ('rollback' as const) : ('unlocked' as const),
    unlockRequest: unlock.name,
    approvers: [...approvers],
    unlock: {
      kind: unlock.kind,
      ...(unlock.namespace ? { namespace: unlock.namespace } : {}),
      name: unlock.name,
      requester: unlock.requester,
    },
    changedBy: { user: change.user, groups: [...change.groups], requestUid: change.requestUid, at: change.at },
    records: admitted.chain.map((r) => r.requestUid),
  };
  return { kind: 'seal', seal: reseal(unsigned, next) };
}
