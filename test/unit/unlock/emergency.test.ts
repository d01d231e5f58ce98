// The emergency path (issue 17): under a policy's unlock.emergency, an emergency request
// needs fewer approvals (the requester's own, if selfApproval), lasts at most its short
// maxDuration, is loud (warning, audit annotation), and must be reviewed afterwards by
// reviewsRequired approvers within reviewWithin, else its status carries a violation.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/admission/types.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import { approvalRulesFor } from '../../../src/rules/unlock/approval-rules.ts';
import { unlockStatus } from '../../../src/rules/unlock/phase.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { immutabilityPolicy } from '../../helpers/policies.ts';
import { oldObjectOf } from '../../helpers/reviews.ts';
import { compiler, policyStore } from '../../helpers/snapshots.ts';
import { TEST_KEYS } from '../../helpers/attestation.ts';
import { CREATED_MS, unlockRequest, unlockReview } from '../../helpers/unlock.ts';

const GROUPS = ['dev', 'approvers', 'system:authenticated'];
const by = (user: string) => ({ user, groups: GROUPS });
const MINUTE = 60_000;
const EMERGENCY = {
  approvalsRequired: 1,
  selfApproval: true,
  maxDuration: '15m',
  reviewsRequired: 2,
  reviewWithin: '1h',
};

function store(emergency: Record<string, unknown> | null = EMERGENCY) {
  const s = policyStore({ sources: [] });
  s.upsert(
    'ImmutabilityPolicy',
    immutabilityPolicy('locks', {
      unlock: {
        approvalsRequired: 2,
        approverGroups: ['approvers'],
        maxDuration: '1h',
        ...(emergency ? { emergency } : {}),
      },
    }),
  );
  return s;
}
const request = (extra: Record<string, unknown> = {}, approvals = [by('alice')]) =>
  unlockRequest('ur', { emergency: true, duration: '10m', ...extra }, approvals);
const compiled = (o: KubeObject) => {
  const r = compiler.unlock(o);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.unlock;
};
const change = (o: KubeObject, s = store()) =>
  reviewRequest({
    request: loadReview('configmap-apply-changed').request,
    snapshot: s.snapshot(),
    facts: { now: CREATED_MS + MINUTE, namespaceLabels: {}, unlocks: [compiled(o)] },
  });
const target = { status: 'found' as const, object: oldObjectOf(loadReview('configmap-apply-changed')) };
const signOff = (before: KubeObject, after: KubeObject, user: string, now = CREATED_MS + MINUTE, s = store()) =>
  reviewRequest({
    request: unlockReview(after, { oldObject: before, user, groups: GROUPS }).request,
    snapshot: s.snapshot(),
    facts: { now, namespaceLabels: {}, unlockTarget: target },
  });

describe('an emergency unlock at admission', () => {
  it('self-approved, lets the change through loudly', () => {
    const v = change(request());
    expect(v.allowed).toBe(true);
    expect(v.warnings.join('\n')).toContain(
      'EMERGENCY unlock: UnlockRequest ur (requested by alice) is an emergency unlock; approvers must review it ' +
        'afterwards (kubectl bulwark unlock review ur)',
    );
    expect(v.auditAnnotations).toMatchObject({
      'unlock-emergency': 'true',
      'unlock-approvers': expect.stringContaining('alice (self-approved, emergency)'),
    });
  });

  it('is counted in bulwark_emergency_unlocks_total', async () => {
    const metrics = createMetrics({ collectDefaults: false });
    metrics.observeReview(change(request()), 'UPDATE', 0.001);
    metrics.observeReview(change(unlockRequest('ur', {}, [by('bob'), by('carol')])), 'UPDATE', 0.001);
    expect(await metrics.registry.getSingleMetricAsString('bulwark_emergency_unlocks_total')).toMatch(
      /bulwark_emergency_unlocks_total 1$/m,
    );
  });

  it('under a policy without unlock.emergency, is an ordinary request: self-approval does not count', () => {
    const v = change(request(), store(null));
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toContain(
      'it has 0 of the 2 approvals it needs (alice requested it, and self-approval is not allowed)',
    );
  });

  it('without selfApproval, needs someone else', () => {
    const v = change(request(), store({ ...EMERGENCY, selfApproval: false }));
    expect(v.reasons[0]).toContain('alice requested it, and self-approval is not allowed');
    expect(change(request({}, [by('bob')]), store({ ...EMERGENCY, selfApproval: false })).allowed).toBe(true);
  });

  it('lasts at most the emergency maxDuration', () => {
    const v = change(request({ duration: '30m' }));
    expect(v.reasons[0]).toContain('it lasts 30m, longer than the 15m ImmutabilityPolicy locks (emergency) allows');
  });
});

describe('approving and reviewing an emergency request', () => {
  it('the requester may approve their own emergency request only where the policy allows self-approval', () => {
    const before = request({}, []);
    expect(signOff(before, request(), 'alice').allowed).toBe(true);
    const denied = signOff(
      before,
      request(),
      'alice',
      CREATED_MS + MINUTE,
      store({ ...EMERGENCY, selfApproval: false }),
    );
    expect(denied.reasons[0]).toContain('alice requested this unlock and cannot approve it');
  });

  it('approvers review it afterwards, after expiry too; not the requester; ordinary requests have none', () => {
    const before = request();
    const reviewed = (user: string) => request({ reviews: [by(user)] });
    expect(signOff(before, reviewed('bob'), 'bob', CREATED_MS + 50 * MINUTE).allowed).toBe(true);
    expect(signOff(before, reviewed('alice'), 'alice').reasons[0]).toContain(
      'alice requested this emergency unlock and cannot review it',
    );
    const ordinary = unlockRequest('ur', {}, [by('bob')]);
    const ordinaryReviewed = unlockRequest('ur', { reviews: [by('carol')] }, [by('bob')]);
    expect(signOff(ordinary, ordinaryReviewed, 'carol').reasons[0]).toContain('is not an emergency unlock');
  });
});

describe('the review in status', () => {
  const where = { group: '', kind: 'ConfigMap', namespace: 'demo', name: 'app-config' };
  const rules = approvalRulesFor(store().snapshot(), where, target.object, {});
  const status = (o: KubeObject, minutes: number) =>
    unlockStatus({
      keys: TEST_KEYS,
      unlock: compiled(o),
      rules,
      now: CREATED_MS + minutes * MINUTE,
      target: target.object,
    });

  it('is due within reviewWithin; unreviewed past it, a violation; reviewed by two, none', () => {
    expect(status(request(), 5)).toMatchObject({
      phase: 'Approved',
      reviews: '0/2',
      reviewDeadline: '2026-11-25T11:00:00Z',
      reviewed: false,
    });
    expect(status(request(), 5).violation).toBeUndefined();
    expect(status(request(), 61).violation).toBe(
      'emergency unlock not reviewed by 2026-11-25T11:00:00Z: 0 of 2 reviews (kubectl bulwark unlock review ur)',
    );
    const done = request({ reviews: [by('bob'), by('carol')] });
    expect(status(done, 61)).toMatchObject({ phase: 'Expired', reviews: '2/2', reviewed: true });
    expect(status(done, 61).violation).toBeUndefined();
    // Reviews written while Bulwark was away (unattested) do not count: the violation stays.
    const forged = unlockRequest('ur', { emergency: true, duration: '10m', reviews: [by('bob'), by('carol')] }, [
      by('alice'),
    ]);
    const spec = forged.spec as { reviews: Record<string, unknown>[] };
    spec.reviews = spec.reviews.map(({ attestation: _, ...r }) => r);
    expect(status(forged, 61)).toMatchObject({ reviews: '0/2', reviewed: false });
    expect(status(forged, 61).violation).toContain('emergency unlock not reviewed');
  });
});
