// Rejection (issue 17): an approver, or the requester withdrawing it, appends a rejection in
// their own name; rejections are append-only like approvals, and a rejected request never
// unlocks, however many approvals it has. The ticket of a request reaches the audit trail.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/admission/types.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { oldObjectOf } from '../../helpers/reviews.ts';
import { compiler } from '../../helpers/snapshots.ts';
import { CREATED_MS, twoApproversSnapshot, unlockRequest, unlockReview } from '../../helpers/unlock.ts';

const GROUPS = ['dev', 'approvers', 'system:authenticated'];
const by = (user: string, groups: string[] = GROUPS) => ({ user, groups });

const snapshot = twoApproversSnapshot;
const facts = {
  now: CREATED_MS + 60_000,
  namespaceLabels: {},
  unlockTarget: { status: 'found' as const, object: oldObjectOf(loadReview('configmap-apply-changed')) },
};

/** As stored after Bulwark's mutating webhook attested the rejections (unless `attest` is false). */
const withRejections = (rejections: { user: string; groups?: string[] }[], approvals = [by('bob')], attest = true) =>
  unlockRequest('ur', { rejections }, approvals, { attest });
const signOff = (oldObject: KubeObject, object: KubeObject, user: string, groups = GROUPS) =>
  reviewRequest({
    request: unlockReview(object, { oldObject, user, groups }).request,
    snapshot: snapshot(),
    facts,
  });

describe('rejecting an UnlockRequest', () => {
  const base = unlockRequest('ur', {}, [by('bob')]);

  it('is allowed for an approver, in their own name, with their groups', () => {
    expect(signOff(base, withRejections([by('carol')]), 'carol').allowed).toBe(true);
  });

  it('is allowed for the requester, withdrawing it', () => {
    expect(signOff(base, withRejections([by('alice')]), 'alice').allowed).toBe(true);
  });

  it.each([
    ['by someone outside the approver groups', withRejections([by('dave', ['dev'])]), 'dave', /dave is not in an/],
    ["in another user's name", withRejections([by('bob')]), 'carol', /the rejection names bob/],
    ['with an approval at once', withRejections([by('carol')], [by('bob'), by('erin')]), 'carol', /exactly one/],
  ])('is denied %s', (_name, object, user, message) => {
    const v = signOff(base, object, user, user === 'dave' ? ['dev'] : GROUPS);
    expect(v.allowed).toBe(false);
    expect(v.reasons.join()).toMatch(message);
  });

  it("is denied without Bulwark's attestation, or with an approval's moved into the rejections", () => {
    const bare = unlockRequest('ur', {}, [by('bob')], { attest: false });
    const unattested = signOff(bare, withRejections([by('carol')], [by('bob')], false), 'carol');
    expect(unattested.reasons.join()).toMatch(/this rejection is not attested by Bulwark \(it carries no attestation/);
    // An attestation made for an approval does not check as a rejection's (purposes differ).
    const approval = (unlockRequest('ur', {}, [by('carol')]).spec as { approvals: unknown[] }).approvals;
    const moved = unlockRequest('ur', { rejections: approval }, [by('bob')]);
    const v = signOff(base, moved, 'carol');
    expect(v.allowed).toBe(false);
    expect(v.reasons.join()).toMatch(/this rejection is not attested by Bulwark/);
  });

  it('is append-only: a rejection cannot be removed or rewritten', () => {
    const rejected = withRejections([by('carol')]);
    for (const [object, user] of [
      [base, 'carol'],
      [withRejections([{ ...by('carol'), comment: 'never mind' } as never]), 'carol'],
    ] as const) {
      const v = signOff(rejected, object, user);
      expect(v.allowed).toBe(false);
      expect(v.reasons[0]).toContain('rejections are append-only');
    }
  });
});

describe('a rejected request never unlocks', () => {
  const compiled = (o: KubeObject) => {
    const r = compiler.unlock(o);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return r.unlock;
  };
  const change = (unlock: KubeObject) =>
    reviewRequest({
      request: loadReview('configmap-apply-changed').request,
      snapshot: snapshot(),
      facts: { now: CREATED_MS + 60_000, namespaceLabels: {}, unlocks: [compiled(unlock)] },
    });

  it('even with every approval it needs', () => {
    const v = change(withRejections([by('dave', ['dev'])], [by('bob'), by('carol')]));
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toContain('UnlockRequest ur: it was rejected by dave');
  });

  it('even when the rejection is not attested (written while Bulwark was away): a rejection only closes', () => {
    const v = change(withRejections([by('dave', ['dev'])], [by('bob'), by('carol')], false));
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toContain('UnlockRequest ur: it was rejected by dave');
  });

  it('while the same request without the rejection would, and its ticket reaches the audit trail', () => {
    const o = unlockRequest('ur', { ticket: 'INC-4711' }, [by('bob'), by('carol')]);
    const v = change(o);
    expect(v.allowed).toBe(true);
    expect(v.auditAnnotations).toMatchObject({ 'unlock-request': 'ur', 'unlock-ticket': 'INC-4711' });
  });
});
