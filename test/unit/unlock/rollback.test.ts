// Rollback as a pre-approved path (issue 14): an UnlockRequest with spec.rollback needs only
// the governing policies' unlock.rollbackApprovals, and only for an UPDATE that returns the
// object to a state Bulwark sealed for it (Seal MAC, uid and content hash all checked). A
// state never sealed, a forged Seal, or an update that lands elsewhere gets no discount.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/admission/types.ts';
import { contentHash, signSeal, type SealSpec } from '../../../src/attestation/seal.ts';
import { signUnlockedChange, type UnlockedChangeSpec } from '../../../src/attestation/unlocked-change.ts';
import type { RequestFacts, SealFact } from '../../../src/decision/facts.ts';
import type { CompiledUnlock } from '../../../src/policy/compile-unlock.ts';
import { looseningsOf } from '../../../src/policy/strictness.ts';
import type { PolicyStore } from '../../../src/policy/store.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import { auditObject } from '../../../src/rules/ledger/audit.ts';
import { OTHER_KEYS, TEST_KEYS } from '../../helpers/attestation.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { immutabilityPolicy } from '../../helpers/policies.ts';
import { oldObjectOf } from '../../helpers/reviews.ts';
import { compiler, policyStore } from '../../helpers/snapshots.ts';
import { CREATED_MS, unlockRequest } from '../../helpers/unlock.ts';

const APPROVERS = ['approvers', 'system:authenticated'];
const review = () => loadReview('configmap-apply-changed');
const newObjectOf = () => review().request.object as KubeObject;
const UID = oldObjectOf(review()).metadata!.uid!;
const NEVER_SEALED = contentHash({ kind: 'ConfigMap', metadata: { name: 'never' } });

function store(unlock: Record<string, unknown> = { rollbackApprovals: 1 }): PolicyStore {
  const s = policyStore({ sources: [] });
  s.upsert(
    'ImmutabilityPolicy',
    immutabilityPolicy('locks', { unlock: { approvalsRequired: 2, approverGroups: ['approvers'], ...unlock } }),
  );
  return s;
}

/** A Seal of the reviewed ConfigMap whose history holds `earlier` (the new object's state by default). */
function seal(earlier = contentHash(newObjectOf()), keys = TEST_KEYS, uid = UID): SealSpec {
  return signSeal(keys, {
    target: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'demo', name: 'app-config', uid },
    current: { hash: contentHash(oldObjectOf(review())), at: '2026-11-25T09:00:00Z', reason: 'unlocked' },
    history: [{ hash: earlier, at: '2026-11-24T09:00:00Z', reason: 'locked' }],
  });
}

function rollbackUnlock(hash: string, approvers = ['bob']): CompiledUnlock {
  const approvals = approvers.map((user) => ({ user, groups: APPROVERS }));
  const r = compiler.unlock(unlockRequest('ur-1', { rollback: { hash } }, approvals));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.unlock;
}

function ordinaryUnlock(): CompiledUnlock {
  const r = compiler.unlock(
    unlockRequest('ur-0', {}, [
      { user: 'bob', groups: APPROVERS },
      { user: 'carol', groups: APPROVERS },
    ]),
  );
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.unlock;
}

function decide(unlock: CompiledUnlock, sealFact: SealFact | undefined, s = store()) {
  const facts: RequestFacts = { now: CREATED_MS + 60_000, unlocks: [unlock], namespaceLabels: {} };
  if (sealFact) facts.seal = sealFact;
  return reviewRequest({ request: review().request, snapshot: s.snapshot(), facts });
}

const found = (spec: SealSpec): SealFact => ({ status: 'found', seal: spec });
const target = contentHash(newObjectOf());

describe('a rollback to an earlier sealed state', () => {
  it('goes through with the policy`s rollbackApprovals (1 of 2), naming the state', () => {
    const v = decide(rollbackUnlock(target), found(seal()));
    expect(v.allowed).toBe(true);
    expect(v.warnings[0]).toContain(`allows this rollback to the sealed state ${target}`);
    expect(Object.entries(v.auditAnnotations)).toContainEqual([expect.stringMatching(/unlock-rollback$/), target]);
  });

  it('needs the full count without rollbackApprovals (the default is the count for a change)', () => {
    const v = decide(rollbackUnlock(target), found(seal()), store({}));
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toContain('it has 1 of the 2 approvals it needs');
    expect(decide(rollbackUnlock(target, ['bob', 'carol']), found(seal()), store({})).allowed).toBe(true);
  });

  it('to a state never sealed, the same change gets no discount', () => {
    const v = decide(rollbackUnlock(target), found(seal(NEVER_SEALED)));
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toContain(`it is a rollback to ${target}, which is not a state Bulwark sealed for it`);
  });

  it('that lands elsewhere than the state it names is not unlocked', () => {
    const v = decide(rollbackUnlock(NEVER_SEALED), found(seal(NEVER_SEALED)));
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toContain(`this update would make the content ${target}, not that state`);
  });

  it('with a Seal Bulwark did not sign, of another object, missing or unreadable, is not unlocked', () => {
    const cases: [SealFact | undefined, string][] = [
      [found(seal(target, OTHER_KEYS)), "its Seal is not Bulwark's"],
      [found(seal(target, TEST_KEYS, 'another-uid')), 'its Seal names another object'],
      [{ status: 'absent' }, 'it has no Seal'],
      [{ status: 'unavailable', reason: 'timeout' }, 'its Seal cannot be read: timeout'],
      [undefined, 'its Seal was not looked up'],
      [found({ current: 1 } as never), 'its Seal is malformed'],
    ];
    for (const [fact, why] of cases) {
      const v = decide(rollbackUnlock(target), fact);
      expect(v.allowed, why).toBe(false);
      expect(v.reasons[0]).toContain(why);
    }
  });

  it('does not unlock a DELETE', () => {
    const del = loadReview('configmap-delete-labelled');
    const v = reviewRequest({
      request: del.request,
      snapshot: store().snapshot(),
      facts: { now: CREATED_MS + 60_000, unlocks: [rollbackUnlock(target)], namespaceLabels: {} },
    });
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toContain('it unlocks only a rollback (an UPDATE)');
  });
});

describe('the audit', () => {
  /** What the admitting replica recorded for the rollback, from `from`. */
  const admitted = (from: string) =>
    signUnlockedChange(TEST_KEYS, {
      requestUid: `req-${from.slice(7, 12)}`,
      user: 'alice',
      groups: APPROVERS,
      at: new Date(CREATED_MS + 30_000).toISOString(),
      target: { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'demo', name: 'app-config', uid: UID },
      unlock: { kind: 'UnlockRequest', name: 'ur-1' },
      from,
      to: target,
      fromResourceVersion: '225',
    });
  const audit = (s: SealSpec, records: UnlockedChangeSpec[]) =>
    auditObject({
      target: s.target,
      object: { ...newObjectOf(), metadata: { ...newObjectOf().metadata, uid: UID, resourceVersion: '226' } },
      seal: s,
      snapshot: store().snapshot(),
      keys: TEST_KEYS,
      // An ordinary unlock in force as well: the rollback, which names this state, is credited.
      unlocks: [ordinaryUnlock(), rollbackUnlock(target)],
      namespaceLabels: {},
      unlockedChanges: { records },
      now: CREATED_MS + 60_000,
    });

  it('re-seals a rollback Bulwark admitted as reason rollback, linked to the request', () => {
    const s = seal();
    expect(audit(s, [admitted(s.current.hash)])).toMatchObject({
      kind: 'seal',
      seal: { current: { hash: target, reason: 'rollback', unlockRequest: 'ur-1', approvers: ['bob'] } },
    });
  });

  it('a rollback admitted from a drifted state counts too (it names a sealed state); none admitted is drift', () => {
    const s = seal();
    expect(audit(s, [admitted(NEVER_SEALED)])).toMatchObject({
      kind: 'seal',
      seal: { current: { reason: 'rollback' } },
    });
    expect(audit(s, [])).toMatchObject({ kind: 'drift', reason: 'changed-outside-unlock' });
  });
});

describe('rollbackApprovals in the strictness order', () => {
  it('lowering it loosens the policy; raising it does not', () => {
    const compiled = (unlock: Record<string, unknown>) => {
      const r = compiler.immutability(immutabilityPolicy('p', { unlock: { approvalsRequired: 2, ...unlock } }));
      if (!r.ok) throw new Error('bad policy');
      return r.policy;
    };
    expect(looseningsOf(compiled({ rollbackApprovals: 1 }), compiled({}))).toEqual([
      'let a rollback to a sealed state through with 1 approval instead of 2',
    ]);
    expect(looseningsOf(compiled({}), compiled({ rollbackApprovals: 1 }))).toEqual([]);
  });
});
