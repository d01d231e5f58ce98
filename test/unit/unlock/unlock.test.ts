// Break-glass: who may request and approve an unlock, and when an approved unlock lets a
// change of a locked object through.

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest, KubeObject } from '../../../src/admission/types.ts';
import type { ParentFact, RequestFacts } from '../../../src/decision/facts.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import { defaultPolicy } from '../../../src/policy/builtin.ts';
import type { PolicyStore } from '../../../src/policy/store.ts';
import type { CompiledUnlock } from '../../../src/policy/compile-unlock.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { immutabilityPolicy } from '../../helpers/policies.ts';
import { oldObjectOf } from '../../helpers/reviews.ts';
import { CREATED_MS, unlockRequest, unlockReview } from '../../helpers/unlock.ts';
import { compiler, policyStore } from '../../helpers/snapshots.ts';

const MINUTE = 60_000;

function store(
  unlock: Record<string, unknown> = { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h' },
): PolicyStore {
  const s = policyStore({ sources: [] });
  s.upsert('ImmutabilityPolicy', immutabilityPolicy('locks', { unlock }));
  return s;
}

/** The locked ConfigMap the captured reviews act on, as the target fact. */
const target = (): ParentFact => ({ status: 'found', object: oldObjectOf(loadReview('configmap-apply-changed')) });

function decide(review: AdmissionReviewRequest, facts: RequestFacts, s = store()) {
  return reviewRequest({ request: review.request, snapshot: s.snapshot(), facts });
}

const compiled = (o: KubeObject): CompiledUnlock => {
  const r = compiler.unlock(o);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.unlock;
};

describe('creating an UnlockRequest', () => {
  const facts = { now: CREATED_MS, unlockTarget: target(), namespaceLabels: {} };

  it('is allowed for the requester themselves', () => {
    expect(decide(unlockReview(unlockRequest('ok', {})), facts).allowed).toBe(true);
  });

  it.each<[string, KubeObject, Partial<RequestFacts>, RegExp]>([
    [
      "in another user's name",
      unlockRequest('x', { requester: 'bob' }),
      {},
      /spec\.requester must be the user creating the request \(alice\), not "bob"/,
    ],
    ['with approvals already', unlockRequest('x', {}, [{ user: 'bob' }]), {}, /a new UnlockRequest has no approvals/],
    [
      'for longer than the policy allows',
      unlockRequest('x', { duration: '3h' }),
      {},
      /spec\.duration 3h is longer than 1h, the longest unlock ImmutabilityPolicy locks allows/,
    ],
    [
      'for a target that does not exist',
      unlockRequest('x', {}),
      { unlockTarget: { status: 'absent' } },
      /the target ConfigMap demo\/app-config does not exist/,
    ],
    [
      'when the target cannot be read',
      unlockRequest('x', {}),
      { unlockTarget: { status: 'unavailable', reason: 'timeout' } },
      /cannot read the target .*: timeout/,
    ],
    [
      'with a schema problem',
      unlockRequest('x', { operations: ['PATCH'] }),
      {},
      /spec\.operations\[0\]: must be one of "UPDATE", "DELETE"/,
    ],
  ])('is denied %s', (_name, object, extra, message) => {
    const v = decide(unlockReview(object), { ...facts, ...extra });
    expect(v.allowed).toBe(false);
    expect(v.reasons.join()).toMatch(message);
  });

  it('is allowed under the built-in default when approver groups are configured for it', () => {
    const s = policyStore({ sources: [], defaultImmutability: defaultPolicy({ approverGroups: ['approvers'] }) });
    expect(decide(unlockReview(unlockRequest('x', {})), facts, s).allowed).toBe(true);
  });

  it('is denied when no policy names approvers (the built-in default)', () => {
    const v = decide(unlockReview(unlockRequest('x', {})), facts, policyStore({ sources: [] }));
    expect(v.reasons[0]).toMatch(
      /nobody can approve this request: ImmutabilityPolicy builtin-default names no unlock\.approverGroups/,
    );
  });
});

const GROUPS = ['dev', 'approvers', 'system:authenticated'];
const by = (user: string, groups: string[] = GROUPS) => ({ user, groups });

describe('approving an UnlockRequest', () => {
  const base = unlockRequest('ur', {}, [by('bob')]);
  /** `approvals` after the update; the last one is recorded with `groups` unless it has its own. */
  const approve = (approvals: { user: string; groups?: string[] }[], user: string, groups = GROUPS) =>
    unlockReview(
      unlockRequest(
        'ur',
        {},
        approvals.map((a, i) => (i === approvals.length - 1 && !('groups' in a) ? { ...a, groups } : a)),
      ),
      { oldObject: base, user, groups },
    );
  const facts = { now: CREATED_MS + 5 * MINUTE, unlockTarget: target(), namespaceLabels: {} };

  it('is allowed for an approver appending their own approval, with their groups', () => {
    expect(decide(approve([by('bob'), { user: 'carol' }], 'carol'), facts).allowed).toBe(true);
  });

  it.each<[string, AdmissionReviewRequest, RegExp]>([
    [
      "in another user's name",
      approve([by('bob'), { user: 'dave' }], 'carol'),
      /an approval must name the user who makes it: you are carol, the approval names dave/,
    ],
    [
      'by the requester',
      approve([by('bob'), { user: 'alice' }], 'alice'),
      /alice requested this unlock and cannot approve it/,
    ],
    ['twice by one approver', approve([by('bob'), { user: 'bob' }], 'bob'), /bob has already approved this request/],
    [
      'by someone outside the approver groups',
      approve([by('bob'), { user: 'dave' }], 'dave', ['dev']),
      /dave is not in an approver group of ImmutabilityPolicy locks \(approvers\)/,
    ],
    [
      "without recording the approver's groups",
      approve([by('bob'), { user: 'carol', groups: undefined as unknown as string[] }], 'carol'),
      /an approval must record your groups as the API server reports them/,
    ],
    [
      'recording groups the approver is not in',
      approve([by('bob'), { user: 'dave', groups: ['dev', 'approvers'] }], 'dave', ['dev']),
      /the groups recorded with an approval must be exactly yours \(dev\), not dev, approvers/,
    ],
    ['removing an approval', approve([], 'carol'), /approvals are append-only/],
    ['rewriting an approval', approve([by('carol')], 'carol'), /approvals are append-only/],
    [
      'adding two at once',
      approve([by('bob'), by('carol'), { user: 'erin' }], 'carol'),
      /add exactly one approval, rejection or review per update/,
    ],
    [
      'changing anything else',
      unlockReview(unlockRequest('ur', { reason: 'something else' }, [by('bob'), by('carol')]), {
        oldObject: base,
        user: 'carol',
      }),
      /only spec\.approvals, spec\.rejections and spec\.reviews may change after an UnlockRequest is created/,
    ],
  ])('is denied %s', (_name, review, message) => {
    const v = decide(review, facts);
    expect(v.allowed).toBe(false);
    expect(v.reasons.join()).toMatch(message);
  });

  it('is denied after expiry', () => {
    const v = decide(approve([by('bob'), { user: 'carol' }], 'carol'), { ...facts, now: CREATED_MS + 31 * MINUTE });
    expect(v.reasons[0]).toMatch(/UnlockRequest ur expired at 2026-11-25T10:30:00.000Z: it can no longer be approved/);
  });
});

describe('an approved unlock lets the change through', () => {
  const change = () => loadReview('configmap-apply-changed');
  const approved = (
    spec: Record<string, unknown> = {},
    approvals: { user: string; groups?: string[] }[] = [by('bob'), by('carol')],
  ) => compiled(unlockRequest('ur-1', spec, approvals));
  const facts = (unlocks: CompiledUnlock[], now = CREATED_MS + MINUTE): RequestFacts => ({
    now,
    unlocks,
    namespaceLabels: {},
  });

  it('allows with a warning and audit annotations naming the request and approvers', () => {
    const v = decide(change(), facts([approved()]));
    expect(v.allowed).toBe(true);
    expect(v.warnings[0]).toBe(
      'ConfigMap demo/app-config is locked, but UnlockRequest ur-1 (requested by alice, approved by bob, carol) ' +
        'allows this update until 2026-11-25T10:30:00.000Z',
    );
    expect(v.auditAnnotations).toMatchObject({
      decision: 'unlocked',
      'unlock-request': 'ur-1',
      'unlock-approvers': 'bob,carol',
      'unlock-requester': 'alice',
    });
    expect(v.outcomes).toContainEqual({ rule: 'immutability', decision: 'unlocked' });
  });

  it.each<[string, CompiledUnlock, number, RegExp]>([
    [
      'with too few approvals',
      approved({}, [by('bob')]),
      CREATED_MS + MINUTE,
      /UnlockRequest ur-1: it has 1 of the 2 approvals it needs/,
    ],
    [
      'when the requester approved themselves',
      approved({}, [by('alice'), by('bob')]),
      CREATED_MS + MINUTE,
      /it has 1 of the 2 approvals/,
    ],
    [
      'after expiry: the lock is back',
      approved(),
      CREATED_MS + 30 * MINUTE,
      /UnlockRequest ur-1: it expired at 2026-11-25T10:30:00.000Z/,
    ],
    ['for another operation', approved({ operations: ['DELETE'] }), CREATED_MS + MINUTE, /it does not unlock UPDATE/],
    [
      'for a different change than the bound one',
      approved({ change: { patch: [{ op: 'replace', path: '/data/color', value: 'purple' }] } }),
      CREATED_MS + MINUTE,
      /this update is not the change it was approved for/,
    ],
  ])('denies %s, saying why', (_name, unlock, now, why) => {
    const v = decide(change(), facts([unlock], now));
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toMatch(why);
  });

  it('allows exactly the bound change', () => {
    const newColor = (change().request.object as { data: { color: string } }).data.color;
    const unlock = approved({ change: { patch: [{ op: 'replace', path: '/data/color', value: newColor }] } });
    expect(decide(change(), facts([unlock])).allowed).toBe(true);
  });

  it('applies only to its exact target', () => {
    const other = approved({ target: { apiVersion: 'v1', kind: 'Secret', namespace: 'demo', name: 'app-config' } });
    expect(decide(change(), facts([other])).allowed).toBe(false);
  });

  it('unlocks a DELETE when it lists DELETE', () => {
    expect(decide(loadReview('configmap-delete-labelled'), facts([approved({ operations: ['DELETE'] })])).allowed).toBe(
      true,
    );
  });
});
