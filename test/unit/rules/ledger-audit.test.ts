// The drift audit's judgement (issue 14), pure: each locked object against its seal, with
// the UnlockRequests and policies in force. The attacks: a change, an unlabelling or a
// deletion outside the rules; approvals never admitted by Bulwark; a change under an unlock
// that Bulwark never admitted; an edited seal.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/admission/types.ts';
import { contentHash, signSeal, type SealSpec } from '../../../src/attestation/seal.ts';
import { signUnlockedChange } from '../../../src/attestation/unlocked-change.ts';
import type { CompiledUnlock } from '../../../src/policy/compile-unlock.ts';
import { auditObject, type AuditInput } from '../../../src/rules/ledger/audit.ts';
import { TEST_KEYS } from '../../helpers/attestation.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { immutabilityPolicy } from '../../helpers/policies.ts';
import { oldObjectOf } from '../../helpers/reviews.ts';
import { compiler, policyStore } from '../../helpers/snapshots.ts';
import { CREATED_MS, unlockRequest } from '../../helpers/unlock.ts';

const GROUPS = ['dev', 'approvers', 'system:authenticated'];
const store = policyStore({ sources: [] });
store.upsert(
  'ImmutabilityPolicy',
  immutabilityPolicy('locks', { unlock: { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h' } }),
);

const object = (): KubeObject => oldObjectOf(loadReview('configmap-apply-changed'));
const target = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'demo', name: 'app-config', uid: 'u-1' };
const sealOf = (o: KubeObject): SealSpec =>
  signSeal(TEST_KEYS, {
    target,
    current: { hash: contentHash(o), at: '2026-11-25T09:00:00Z', reason: 'locked' },
    history: [],
  });
const changed = (): KubeObject => ({ ...object(), data: { color: 'red' } }) as KubeObject;
const unlocked = (operations: string[], attest = true): CompiledUnlock => {
  const by = (user: string) => ({ user, groups: GROUPS });
  const r = compiler.unlock(unlockRequest('ur', { operations }, [by('bob'), by('carol')], { attest }));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.unlock;
};

function audit(input: Partial<AuditInput>) {
  return auditObject({
    target,
    snapshot: store.snapshot(),
    keys: TEST_KEYS,
    unlocks: [],
    namespaceLabels: {},
    now: CREATED_MS + 60_000,
    ...input,
  });
}

describe('the drift audit`s judgement', () => {
  it('seals a newly locked object and leaves a sealed, unchanged one in order', () => {
    const outcome = audit({ object: object() });
    expect(outcome).toMatchObject({
      kind: 'seal',
      seal: { current: { reason: 'locked', hash: contentHash(object()) } },
    });
    expect(audit({ object: object(), seal: sealOf(object()) })).toEqual({ kind: 'in-order' });
  });

  it('reports a change, an unlabelling and a deletion outside the rules', () => {
    expect(audit({ object: changed(), seal: sealOf(object()) })).toMatchObject({ kind: 'drift', reason: 'changed' });
    const bare = object();
    bare.metadata!.labels = {};
    expect(audit({ object: bare, seal: sealOf(object()) })).toMatchObject({ kind: 'drift', reason: 'unlabelled' });
    expect(audit({ seal: sealOf(object()) })).toMatchObject({
      kind: 'drift',
      reason: 'deleted',
      message: expect.stringContaining('ConfigMap demo/app-config was deleted outside the rules'),
    });
  });

  it('re-seals a change an approved unlock allowed and Bulwark admitted; unattested approvals do not', () => {
    const admitted = signUnlockedChange(TEST_KEYS, {
      requestUid: 'req-1',
      user: 'alice',
      groups: GROUPS,
      at: new Date(CREATED_MS + 60_000).toISOString(),
      target: { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'demo', name: 'app-config', uid: 'u-1' },
      unlock: { kind: 'UnlockRequest', name: 'ur' },
      from: contentHash(object()),
      to: contentHash(changed()),
      fromResourceVersion: '1',
    });
    const unlockedChanges = { records: [admitted] };
    const outcome = audit({
      object: changed(),
      seal: sealOf(object()),
      unlocks: [unlocked(['UPDATE'])],
      unlockedChanges,
    });
    expect(outcome).toMatchObject({
      kind: 'seal',
      seal: {
        current: { reason: 'unlocked', hash: contentHash(changed()), unlockRequest: 'ur', approvers: ['bob', 'carol'] },
        history: [{ hash: contentHash(object()) }],
      },
    });
    expect(
      audit({ object: changed(), seal: sealOf(object()), unlocks: [unlocked(['UPDATE'], false)], unlockedChanges }),
    ).toMatchObject({ kind: 'drift', reason: 'changed' });
    expect(audit({ seal: sealOf(object()), unlocks: [unlocked(['DELETE'])] })).toEqual({ kind: 'release' });
  });

  it('does not re-seal a change under a patch-bound unlock that Bulwark never admitted', () => {
    const by = (user: string) => ({ user, groups: GROUPS });
    const patch = [{ op: 'replace', path: '/data/color', value: 'red' }];
    const r = compiler.unlock(unlockRequest('ur', { change: { patch } }, [by('bob'), by('carol')]));
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(
      audit({ object: changed(), seal: sealOf(object()), unlocks: [r.unlock], unlockedChanges: { records: [] } }),
    ).toMatchObject({ kind: 'drift', reason: 'changed-outside-unlock' });
  });

  it('does not believe a seal edited without Bulwark`s key, or one of another object', () => {
    const forged = sealOf(changed());
    forged.current.hash = contentHash(object());
    expect(audit({ object: object(), seal: forged })).toMatchObject({ kind: 'drift', reason: 'seal-invalid' });
    const { attestation: _, ...unsigned } = sealOf(object());
    const other = signSeal(TEST_KEYS, { ...unsigned, target: { ...target, uid: 'u-2' } });
    expect(audit({ object: object(), seal: other })).toMatchObject({
      kind: 'drift',
      reason: 'seal-invalid',
      message: expect.stringContaining('names another object'),
    });
  });
});
