// What an UnlockRequest is worth when it is used, judged against the policies in force
// now (issue 10): forged or stale approvals (finding 13), unlocks that would lift the lock
// itself (finding 15), and approval rules read with the target's namespace labels
// (finding 11).

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest, KubeObject } from '../../../src/admission/types.ts';
import type { ParentFact, RequestFacts } from '../../../src/decision/facts.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import { defaultPolicy } from '../../../src/policy/builtin.ts';
import type { PolicyStore } from '../../../src/policy/store.ts';
import type { CompiledUnlock } from '../../../src/policy/compile-unlock.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { immutabilityPolicy } from '../../helpers/policies.ts';
import { exposed, namespaceRelabel } from '../../helpers/governance.ts';
import { editedUpdate, oldObjectOf } from '../../helpers/reviews.ts';
import { CREATED_MS, unlockRequest, unlockReview } from '../../helpers/unlock.ts';
import { compiler, policyStore } from '../../helpers/snapshots.ts';

const MINUTE = 60_000;
const APPROVERS = ['dev', 'approvers', 'system:authenticated'];
const by = (user: string, groups: string[] = APPROVERS) => ({ user, groups });

function store(...policies: Record<string, unknown>[]): PolicyStore {
  const s = policyStore({ sources: [] });
  for (const p of policies) s.upsert('ImmutabilityPolicy', p);
  return s;
}

const locks = (unlock: Record<string, unknown> = {}) =>
  immutabilityPolicy('locks', {
    unlock: { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h', ...unlock },
  });

function compiled(
  spec: Record<string, unknown>,
  approvals: { user: string; groups?: string[] }[] = [by('bob'), by('carol')],
): CompiledUnlock {
  const r = compiler.unlock(unlockRequest('ur-1', spec, approvals));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.unlock;
}

function decide(
  review: AdmissionReviewRequest,
  s: PolicyStore,
  unlocks: CompiledUnlock[],
  extra: Partial<RequestFacts> = {},
) {
  return reviewRequest({
    request: review.request,
    snapshot: s.snapshot(),
    facts: { now: CREATED_MS + MINUTE, unlocks, namespaceLabels: {}, ...extra },
  });
}

const change = () => loadReview('configmap-apply-changed');

describe('approvals are re-checked against the policies in force now (finding 13)', () => {
  it('a forged request under the built-in default, which names no approvers, unlocks nothing', () => {
    const forged = compiled({ duration: '8760h' });
    const v = decide(change(), store(), [forged]);
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toContain(
      'UnlockRequest ur-1: it lasts 8760h, longer than the 1h ImmutabilityPolicy builtin-default allows',
    );
    const short = decide(change(), store(), [compiled({})]);
    expect(short.reasons[0]).toContain(
      'UnlockRequest ur-1: it has 0 of the 2 approvals it needs (bob is not in an approver group of ' +
        'ImmutabilityPolicy builtin-default (none named) now; carol is not',
    );
  });

  it('approvals stored without the approver`s groups do not count, and the message says what to do', () => {
    const v = decide(change(), store(locks()), [compiled({}, [{ user: 'bob' }, { user: 'carol' }])]);
    expect(v.reasons[0]).toContain(
      "it has 0 of the 2 approvals it needs (bob's approval does not record the approver's groups (made before " +
        'Bulwark recorded them, or not through Bulwark), so it does not count; create a new UnlockRequest;',
    );
  });

  it('approvals given under P1 stop counting once a stricter P2 governs the object too', () => {
    const p2 = immutabilityPolicy('p2', {
      unlock: { approvalsRequired: 2, approverGroups: ['leads'], maxDuration: '1h' },
    });
    const v = decide(change(), store(locks(), p2), [compiled({})]);
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toContain('bob is not in an approver group of ImmutabilityPolicy p2 (leads) now');
  });

  it('approvals stop counting when the policy narrows its approver groups', () => {
    expect(decide(change(), store(locks({ approverGroups: ['leads'] })), [compiled({})]).allowed).toBe(false);
  });

  it('more approvals required now than were given: not enough', () => {
    expect(decide(change(), store(locks({ approvalsRequired: 3 })), [compiled({})]).reasons[0]).toContain(
      'it has 2 of the 3 approvals it needs',
    );
  });

  it('a maximum duration shortened since: the unlock no longer applies', () => {
    expect(
      decide(change(), store(locks({ maxDuration: '10m' })), [compiled({ duration: '30m' })]).reasons[0],
    ).toContain('it lasts 30m, longer than the 10m ImmutabilityPolicy locks allows');
  });

  it('approvals under today`s rules still unlock', () => {
    expect(decide(change(), store(locks()), [compiled({})]).allowed).toBe(true);
  });
});

describe('lifting the lock needs an Unlabel unlock (finding 15)', () => {
  const removed = () => loadReview('configmap-label-removed');

  it('an UPDATE-only unlock cannot remove the lock label', () => {
    const v = decide(removed(), store(locks()), [compiled({ operations: ['UPDATE'] })]);
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toContain(
      'UnlockRequest ur-1: it does not unlock Unlabel: removing or changing the lock label needs an ' +
        'UnlockRequest with operation Unlabel',
    );
  });

  it('nor change its value', () => {
    const weakened = editedUpdate('configmap-apply-identical', (o) => {
      o.metadata!.labels!['bulwark.dev/immutable'] = 'false';
    });
    expect(decide(weakened, store(locks()), [compiled({ operations: ['UPDATE', 'DELETE'] })]).reasons[0]).toContain(
      'it does not unlock Unlabel',
    );
  });

  it('an Unlabel unlock removes it, and says so in the warning and the audit annotations', () => {
    const v = decide(removed(), store(locks()), [compiled({ operations: ['Unlabel'] })]);
    expect(v.allowed).toBe(true);
    expect(v.warnings[0]).toBe(
      'ConfigMap demo/app-config is locked, but UnlockRequest ur-1 (requested by alice, approved by bob, carol) ' +
        'allows this update, which removes its lock label until 2026-11-25T10:30:00.000Z: ConfigMap ' +
        'demo/app-config is unlabelled by UnlockRequest ur-1 and no longer locked',
    );
    expect(v.auditAnnotations).toMatchObject({
      'unlock-unlabelled': 'unlabelled by UnlockRequest ur-1',
      'unlock-request': 'ur-1',
    });
  });

  it('Unlabel alone does not cover other changes made at the same time', () => {
    const both = editedUpdate('configmap-label-removed', (o) => {
      (o as { data: Record<string, string> }).data.color = 'pink';
    });
    expect(decide(both, store(locks()), [compiled({ operations: ['Unlabel'] })]).reasons[0]).toContain(
      'it does not unlock UPDATE',
    );
    expect(decide(both, store(locks()), [compiled({ operations: ['UPDATE', 'Unlabel'] })]).allowed).toBe(true);
  });

  it('an unlock bound to a patch that removes the label allows exactly that', () => {
    const patch = [{ op: 'remove', path: '/metadata/labels/bulwark.dev~1immutable' }];
    expect(decide(removed(), store(locks()), [compiled({ operations: ['UPDATE'], change: { patch } })]).allowed).toBe(
      true,
    );
  });

  it('a policy`s allowedChanges never cover the lock label', () => {
    const loose = immutabilityPolicy('loose', { allowedChanges: ['/metadata/labels/bulwark.dev~1immutable'] });
    const v = reviewRequest({ request: removed().request, snapshot: store(loose).snapshot(), facts: {} });
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toContain('only by an UnlockRequest with operation Unlabel');
  });
});

describe('approval rules read the target`s namespace labels (finding 11)', () => {
  const selected = immutabilityPolicy('prod-only', {
    match: { namespaceSelector: { matchLabels: { env: 'prod' } } },
    unlock: { approverGroups: ['leads'] },
  });
  const target = (): ParentFact => ({ status: 'found', object: oldObjectOf(loadReview('configmap-apply-changed')) });
  const s = () => {
    const st = policyStore({ sources: [], defaultImmutability: defaultPolicy({ approverGroups: ['approvers'] }) });
    st.upsert('ImmutabilityPolicy', selected);
    return st;
  };
  const create = (facts: Partial<RequestFacts>) =>
    reviewRequest({
      request: unlockReview(unlockRequest('ur', {})).request,
      snapshot: s().snapshot(),
      facts: { now: CREATED_MS, unlockTarget: target(), ...facts },
    });

  it('a namespaceSelector policy that does not select the target`s namespace does not govern it', () => {
    expect(create({ targetNamespaceLabels: { env: 'dev' } }).allowed).toBe(true);
  });

  it('one that does governs it, with its own approver groups', () => {
    const approve = unlockReview(unlockRequest('ur', {}, [by('bob')]), {
      oldObject: unlockRequest('ur', {}),
      user: 'bob',
      groups: APPROVERS,
    }).request;
    const v = reviewRequest({
      request: approve,
      snapshot: s().snapshot(),
      facts: { now: CREATED_MS, unlockTarget: target(), targetNamespaceLabels: { env: 'prod' } },
    });
    expect(v.reasons[0]).toBe('bob is not in an approver group of ImmutabilityPolicy prod-only (leads)');
  });

  it('unknown labels still fail closed', () => {
    expect(create({}).reasons[0]).toMatch(
      /nobody can approve this request: ImmutabilityPolicy prod-only names no unlock\.approverGroups/,
    );
  });
});

describe('UnlockRequests for governance targets', () => {
  it('may name a policy that does not exist yet (creating it may loosen locks)', () => {
    const spec = {
      target: { apiVersion: 'bulwark.dev/v1alpha1', kind: 'ImmutabilityPolicy', name: 'future' },
      requester: 'admin',
    };
    const review = unlockReview(unlockRequest('ur', spec) as KubeObject, {
      user: 'admin',
      groups: ['system:masters', 'system:authenticated'],
    });
    expect(
      reviewRequest({
        request: review.request,
        snapshot: store().snapshot(),
        facts: { now: CREATED_MS, unlockTarget: { status: 'absent' } },
      }).allowed,
    ).toBe(true);
  });

  it('are approved by the policy admins', () => {
    const spec = { target: { apiVersion: 'v1', kind: 'Namespace', name: 'shop' } };
    const approve = (user: string, groups: string[]) =>
      reviewRequest({
        request: unlockReview(unlockRequest('ur', spec, [{ user, groups }]), {
          oldObject: unlockRequest('ur', spec),
          user,
          groups,
        }).request,
        snapshot: store().snapshot(),
        facts: {
          now: CREATED_MS,
          unlockTarget: {
            status: 'found',
            object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
          },
        },
      });
    expect(approve('root', ['system:masters', 'system:authenticated']).allowed).toBe(true);
    expect(approve('bob', APPROVERS).reasons[0]).toBe(
      'bob is not in an approver group of the policy admins (system:masters)',
    );
  });
});

describe('a locked Namespace', () => {
  it(
    'is unlocked by an UnlockRequest naming it without a namespace (it is cluster-scoped, though its requests ' +
      'carry one)',
    () => {
      const s = policyStore({ sources: [], defaultImmutability: defaultPolicy({ approverGroups: ['approvers'] }) });
      const review = namespaceRelabel(
        'shop',
        { 'bulwark.dev/immutable': 'true' },
        { 'bulwark.dev/immutable': 'true', owner: 'web' },
      );
      const unlock = compiled({ target: { apiVersion: 'v1', kind: 'Namespace', name: 'shop' } });
      const v = reviewRequest({
        request: review.request,
        snapshot: s.snapshot(),
        facts: { now: CREATED_MS + MINUTE, unlocks: [unlock], exposed: exposed([]) },
      });
      expect(v.allowed, v.reasons.join()).toBe(true);
      expect(v.warnings[0]).toMatch(/^Namespace shop is locked, but UnlockRequest ur-1/);
    },
  );
});
