// The drift audit's judgement of one locked object against its seal (pure). In order: the
// content hash is the sealed one. New lock: seal it (locking is always allowed). Changed,
// unlabelled or deleted: legitimate when an UnlockRequest in force now, with enough
// approvals Bulwark attested, allows that operation on this object (then re-seal, naming
// the request and its approvers); otherwise drift. A seal whose MAC does not check, or
// that names another object, is drift too: it cannot vouch for anything.

import type { KubeObject } from '../../admission/types.ts';
import type { AttestationKeyRing } from '../../attestation/keys.ts';
import { checkSeal, contentHash, reseal, type SealSpec, type SealTarget } from '../../attestation/seal.ts';
import type { CompiledUnlock } from '../../policy/compile-unlock.ts';
import { groupOf } from '../../policy/compile-unlock.ts';
import type { PolicySnapshot } from '../../policy/compiled.ts';
import type { Labels } from '../../policy/selector.ts';
import { approvalRulesFor } from '../unlock/approval-rules.ts';
import { findUnlock } from '../unlock/match.ts';
import { statesOf } from '../unlock/rollback.ts';
import { lockedByOf, type AttributionLookup } from './locked-by.ts';

export type DriftReason = 'changed' | 'unlabelled' | 'deleted' | 'seal-invalid';

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
  now: number;
}

const describe = (t: SealTarget) => `${t.kind} ${t.namespace ? `${t.namespace}/` : ''}${t.name}`;

function isLocked(object: KubeObject | undefined, snapshot: PolicySnapshot): boolean {
  return object?.metadata?.labels?.[snapshot.lockLabel.key] === snapshot.lockLabel.value;
}

function approvedUnlock(input: AuditInput, operation: 'UPDATE' | 'DELETE', unlabels: boolean) {
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
  if (aimed.length === 0) return undefined;
  // A rollback names the exact state it allows: credit it before any unlock that covers more.
  const specificFirst = [...aimed].sort(
    (a, b) => Number(b.rollbackTo !== undefined) - Number(a.rollbackTo !== undefined),
  );
  const match = findUnlock(specificFirst, {
    operation,
    rules: approvalRulesFor(snapshot, unlockTarget, input.object, input.namespaceLabels),
    now: input.now,
    keys: input.keys,
    afterwards: true,
    ...(input.object ? { newObject: input.object } : {}),
    ...(input.seal ? { sealedStates: statesOf(input.seal) } : {}),
    ...(unlabels ? { unlabels: true, changesContent: false } : {}),
  });
  return match.ok ? match : undefined;
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
  if (!object || !locked) {
    const how = object ? 'unlabelled' : 'deleted';
    if (approvedUnlock(input, object ? 'UPDATE' : 'DELETE', Boolean(object))) return { kind: 'release' };
    return {
      kind: 'drift',
      reason: how,
      message: `${describe(target)} was ${how} outside the rules (sealed ${seal.current.hash} at ${seal.current.at})`,
    };
  }
  const hash = contentHash(object);
  if (hash === seal.current.hash) return { kind: 'in-order' };
  const unlock = approvedUnlock(input, 'UPDATE', false);
  if (unlock) {
    const next = {
      hash,
      at,
      reason: unlock.unlock.rollbackTo !== undefined ? ('rollback' as const) : ('unlocked' as const),
      unlockRequest: unlock.unlock.name,
      approvers: [...unlock.approvers],
    };
    return { kind: 'seal', seal: reseal(unsigned, next) };
  }
  return {
    kind: 'drift',
    reason: 'changed',
    message:
      `${describe(target)} changed outside the rules: its content is ${hash}, sealed ${seal.current.hash} ` +
      `at ${seal.current.at}`,
  };
}
