// LocalUnlockRequest (issue 17, tenancy): the namespaced kind works like UnlockRequest
// through the same code, and its scope holds: its target is in its own namespace, it never
// names a cluster-scoped object, and approvals attested for one request (of either kind)
// never count for another.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/admission/types.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import { unlockName } from '../../../src/policy/compile-unlock.ts';
import { UNLOCK_KINDS } from '../../../src/policy/crds.ts';
import { ATTESTED_KINDS } from '../../../src/attestation/stamp.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { oldObjectOf } from '../../helpers/reviews.ts';
import { compiler } from '../../helpers/snapshots.ts';
import { CREATED_MS, twoApproversSnapshot, unlockRequest, unlockReview } from '../../helpers/unlock.ts';

const GROUPS = ['dev', 'approvers', 'system:authenticated'];
const by = (user: string) => ({ user, groups: GROUPS });
// The captured ConfigMap change: demo/app-config.
const TARGET_NAMESPACE = oldObjectOf(loadReview('configmap-apply-changed')).metadata?.namespace as string;

const snapshot = twoApproversSnapshot;
const found = (object: KubeObject) => ({ status: 'found' as const, object });
const createFacts = (target: KubeObject = oldObjectOf(loadReview('configmap-apply-changed'))) => ({
  now: CREATED_MS + 60_000,
  namespaceLabels: {},
  unlockTarget: found(target),
});
const create = (object: KubeObject, facts = createFacts()) =>
  reviewRequest({ request: unlockReview(object).request, snapshot: snapshot(), facts });

const compiled = (o: KubeObject) => {
  const r = compiler.unlock(o);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.unlock;
};
const change = (...unlocks: KubeObject[]) =>
  reviewRequest({
    request: loadReview('configmap-apply-changed').request,
    snapshot: snapshot(),
    facts: { now: CREATED_MS + 60_000, namespaceLabels: {}, unlocks: unlocks.map(compiled) },
  });

describe('a LocalUnlockRequest', () => {
  it("is attested by Bulwark's mutating webhook like an UnlockRequest", () => {
    expect([...ATTESTED_KINDS]).toEqual(Object.keys(UNLOCK_KINDS));
  });

  it('compiles with its kind and namespace; an absent target namespace is its own', () => {
    const u = compiled(
      unlockRequest('lur', { target: { apiVersion: 'v1', kind: 'ConfigMap', name: 'app-config' } }, [], {
        local: TARGET_NAMESPACE,
      }),
    );
    expect(u).toMatchObject({ kind: 'LocalUnlockRequest', namespace: TARGET_NAMESPACE });
    expect(u.target.namespace).toBe(TARGET_NAMESPACE);
    expect(unlockName(u)).toBe(`LocalUnlockRequest ${TARGET_NAMESPACE}/lur`);
  });

  it('naming a target in another namespace does not compile, so it never unlocks even if stored', () => {
    const other = unlockRequest('lur', {}, [by('bob'), by('carol')], { local: 'team-b' });
    const r = compiler.unlock(other);
    expect(r.ok).toBe(false);
    expect(JSON.stringify(!r.ok && r.problems)).toMatch(/only objects in its own namespace team-b, not in demo/);
  });

  it('is admitted for an object in its own namespace, and refused for another namespace', () => {
    expect(create(unlockRequest('lur', {}, [], { local: TARGET_NAMESPACE })).allowed).toBe(true);
    const v = create(unlockRequest('lur', {}, [], { local: 'team-b' }));
    expect(v.allowed).toBe(false);
    expect(v.reasons.join()).toMatch(
      /LocalUnlockRequest lur is invalid: spec.target.namespace: .*own namespace team-b/,
    );
  });

  it('is refused for a cluster-scoped target, even one named with its own namespace', () => {
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: TARGET_NAMESPACE } };
    const object = unlockRequest(
      'lur',
      { target: { apiVersion: 'v1', kind: 'Namespace', namespace: TARGET_NAMESPACE, name: TARGET_NAMESPACE } },
      [],
      { local: TARGET_NAMESPACE },
    );
    const v = create(object, createFacts(ns));
    expect(v.allowed).toBe(false);
    expect(v.reasons.join()).toMatch(/is cluster-scoped: a LocalUnlockRequest unlocks only objects in its own/);
  });

  it('is refused for a policy that does not exist yet (a governance target is cluster-scoped)', () => {
    const object = unlockRequest(
      'lur',
      { target: { apiVersion: 'bulwark.dev/v1alpha1', kind: 'ImmutabilityPolicy', name: 'new' } },
      [],
      { local: TARGET_NAMESPACE },
    );
    const v = create(object, { ...createFacts(), unlockTarget: { status: 'absent' } } as never);
    expect(v.allowed).toBe(false);
    expect(v.reasons.join()).toMatch(/does not exist/);
  });

  it('unlocks its target once approved, named by kind and namespace in the audit trail', () => {
    const v = change(unlockRequest('lur', { ticket: 'INC-1' }, [by('bob'), by('carol')], { local: TARGET_NAMESPACE }));
    expect(v.allowed).toBe(true);
    expect(v.auditAnnotations).toMatchObject({
      'unlock-request': `${TARGET_NAMESPACE}/lur`,
      'unlock-request-kind': 'LocalUnlockRequest',
      'unlock-ticket': 'INC-1',
    });
  });

  it("never counts approvals attested for another request, an UnlockRequest's included", () => {
    const cluster = unlockRequest('ur', {}, [by('bob'), by('carol')]);
    expect(change(cluster).allowed).toBe(true);
    const approvals = (cluster.spec as { approvals: unknown[] }).approvals;
    // The same approvals copied into a LocalUnlockRequest (another uid): they do not check.
    const copied = unlockRequest('lur', { approvals }, [], { local: TARGET_NAMESPACE });
    const v = change(copied);
    expect(v.allowed).toBe(false);
    expect(v.reasons.join()).toMatch(/LocalUnlockRequest demo\/lur: it has 0 of the 2 approvals/);
    // And the other way round.
    const local = unlockRequest('lur', {}, [by('bob'), by('carol')], { local: TARGET_NAMESPACE });
    const back = unlockRequest('ur', { approvals: (local.spec as { approvals: unknown[] }).approvals });
    expect(change(back).reasons.join()).toMatch(/UnlockRequest ur: it has 0 of the 2 approvals/);
  });

  it("admits approvals the same way as an UnlockRequest (one, in the approver's own name, attested)", () => {
    const before = unlockRequest('lur', {}, [], { local: TARGET_NAMESPACE });
    const after = unlockRequest('lur', {}, [by('bob')], { local: TARGET_NAMESPACE });
    const approve = (user: string) =>
      reviewRequest({
        request: unlockReview(after, { oldObject: before, user, groups: GROUPS }).request,
        snapshot: snapshot(),
        facts: createFacts(),
      });
    expect(approve('bob').allowed).toBe(true);
    expect(approve('carol').reasons.join()).toMatch(/names bob/);
  });
});
