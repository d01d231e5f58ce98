// Attested approvals (issue 14): only approvals Bulwark itself admitted count. The attacks:
// an approval written while the webhook was away (no attestation), one attested with
// another key, one copied from another UnlockRequest, one edited after it was attested,
// one stamped for someone else; and the mutating webhook's stamping itself.

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest, KubeObject } from '../../../src/admission/types.ts';
import { checkApprovalAttestation } from '../../../src/attestation/approval.ts';
import { keyRingOf, type AttestationKeyRing } from '../../../src/attestation/keys.ts';
import { attestationPatch } from '../../../src/attestation/stamp.ts';
import type { ParentFact, RequestFacts } from '../../../src/decision/facts.ts';
import type { CompiledUnlock } from '../../../src/policy/compile-unlock.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { immutabilityPolicy } from '../../helpers/policies.ts';
import { oldObjectOf } from '../../helpers/reviews.ts';
import { compiler, policyStore } from '../../helpers/snapshots.ts';
import { attested, OTHER_KEYS, TEST_KEYS } from '../../helpers/attestation.ts';
import { CREATED_MS, unlockRequest, unlockReview } from '../../helpers/unlock.ts';

const GROUPS = ['dev', 'approvers', 'system:authenticated'];
const by = (user: string) => ({ user, groups: GROUPS });
const NOW = CREATED_MS + 60_000;

/** `null`: Bulwark has not read its keys. */
function snapshot(keys: AttestationKeyRing | null = TEST_KEYS) {
  const s = policyStore({ sources: [], ...(keys ? { attestation: keys } : {}) });
  if (!keys) (s as unknown as { attestation: undefined }).attestation = undefined;
  s.upsert(
    'ImmutabilityPolicy',
    immutabilityPolicy('locks', { unlock: { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h' } }),
  );
  return s.snapshot();
}

const compiled = (o: KubeObject): CompiledUnlock => {
  const r = compiler.unlock(o);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.unlock;
};

/** The captured change of the locked ConfigMap, with these unlocks in force. */
function useUnlock(unlock: KubeObject, keys: AttestationKeyRing | null = TEST_KEYS) {
  const review = loadReview('configmap-apply-changed');
  const facts: RequestFacts = { now: NOW, unlocks: [compiled(unlock)], namespaceLabels: {} };
  return reviewRequest({ request: review.request, snapshot: snapshot(keys), facts });
}

const unattested = (name: string) => unlockRequest(name, {}, [by('bob'), by('carol')], { attest: false });

describe('at use time only approvals Bulwark attested count', () => {
  it('attested approvals unlock', () => {
    expect(useUnlock(unlockRequest('ur', {}, [by('bob'), by('carol')])).allowed).toBe(true);
  });

  it('approvals written while the webhook was away (no attestation) do not', () => {
    const v = useUnlock(unattested('ur'));
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toContain(
      "it has 0 of the 2 approvals it needs (bob's approval was not admitted by Bulwark (it carries no " +
        'attestation by Bulwark: written while the webhook was away, or forged), so it does not count;',
    );
  });

  it('nor approvals attested with another key, copied from another request, or edited afterwards', () => {
    const forged = unlockRequest('ur', {}, [], { attest: false });
    (forged.spec as { approvals: unknown[] }).approvals = [
      attested('uid-ur', by('bob'), OTHER_KEYS),
      attested('uid-other', by('carol')),
    ];
    const v = useUnlock(forged);
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toMatch(/bob's approval was not admitted by Bulwark \(its MAC does not match/);
    expect(v.reasons[0]).toMatch(/carol's approval was not admitted by Bulwark \(its MAC does not match/);

    const edited = unlockRequest('ur', {}, [by('bob'), by('carol')]);
    const approvals = (edited.spec as { approvals: { groups: string[] }[] }).approvals;
    approvals[1]!.groups = ['approvers', 'platform-leads'];
    expect(useUnlock(edited).reasons[0]).toMatch(/carol's approval was not admitted by Bulwark/);
  });

  it('nothing counts without Bulwark`s keys, or after the key that attested them was removed', () => {
    expect(useUnlock(unlockRequest('ur', {}, [by('bob'), by('carol')]), null).allowed).toBe(false);
    const rotated = keyRingOf(new Map([['20261201T000000Z-new', new Uint8Array(32).fill(1)]]))!;
    const v = useUnlock(unlockRequest('ur', {}, [by('bob'), by('carol')]), rotated);
    expect(v.reasons[0]).toContain('is not one of Bulwark');
  });

  it('an approval attested after the request expired does not count', () => {
    const late = unlockRequest('ur', {}, [], { attest: false });
    (late.spec as { approvals: unknown[] }).approvals = [
      attested('uid-ur', by('bob'), TEST_KEYS, '2026-11-25T11:00:00Z'),
      attested('uid-ur', by('carol')),
    ];
    expect(useUnlock(late).reasons[0]).toContain('bob approved after it expired');
  });
});

describe('the mutating webhook stamps only what the writer appends in their own name and groups', () => {
  const target = (): ParentFact => ({ status: 'found', object: oldObjectOf(loadReview('configmap-apply-changed')) });
  const base = unlockRequest('ur', {}, [by('bob')]);
  const appending = (approval: Record<string, unknown>, user = 'carol', groups = GROUPS): AdmissionReviewRequest => {
    const after = unlockRequest('ur', {}, [by('bob')]);
    (after.spec as { approvals: unknown[] }).approvals.push(approval);
    return unlockReview(after, { oldObject: base, user, groups });
  };
  const AT = '2026-11-25T10:05:00Z';

  it('attests the appended approval of its author, and the validating rule then admits it', () => {
    const review = appending(by('carol'));
    const ops = attestationPatch(review.request, TEST_KEYS, AT);
    expect(ops).toEqual([{ op: 'add', path: '/spec/approvals/1/attestation', value: expect.any(Object) }]);
    const stamped = { ...by('carol'), attestation: ops[0]!.value };
    expect(checkApprovalAttestation(TEST_KEYS, 'uid-ur', stamped)).toEqual({ ok: true });
    const approved = appending(stamped);
    const facts = { now: NOW, unlockTarget: target(), namespaceLabels: {} };
    expect(reviewRequest({ request: approved.request, snapshot: snapshot(), facts }).allowed).toBe(true);
  });

  it('the validating rule denies an approval that reaches it unattested (mutating webhook unregistered)', () => {
    const review = appending(by('carol'));
    const facts = { now: NOW, unlockTarget: target(), namespaceLabels: {} };
    const v = reviewRequest({ request: review.request, snapshot: snapshot(), facts });
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toContain('this approval is not attested by Bulwark (it carries no attestation by Bulwark)');
  });

  it('removes a forged attestation from an approval in someone else`s name or groups, and never stamps it', () => {
    const forgedForBob = attested('uid-ur', by('dave'), OTHER_KEYS);
    expect(attestationPatch(appending(forgedForBob, 'carol').request, TEST_KEYS, AT)).toEqual([
      { op: 'remove', path: '/spec/approvals/1/attestation' },
    ]);
    expect(attestationPatch(appending(by('carol'), 'carol', ['dev']).request, TEST_KEYS, AT)).toEqual([]);
  });

  it('attests an appended rejection or review as such: neither checks as an approval, nor the other way', () => {
    for (const list of ['rejections', 'reviews'] as const) {
      const after = unlockRequest('ur', { emergency: true, [list]: [by('carol')] }, [by('bob')], { attest: false });
      const before = unlockRequest('ur', { emergency: true }, [by('bob')]);
      (after.spec as { approvals: unknown[] }).approvals = (before.spec as { approvals: unknown[] }).approvals;
      const ops = attestationPatch(unlockReview(after, { oldObject: before, user: 'carol' }).request, TEST_KEYS, AT);
      expect(ops).toEqual([{ op: 'add', path: `/spec/${list}/0/attestation`, value: expect.any(Object) }]);
      const stamped = { ...by('carol'), attestation: ops[0]!.value };
      expect(checkApprovalAttestation(TEST_KEYS, 'uid-ur', stamped, list)).toEqual({ ok: true });
      expect(checkApprovalAttestation(TEST_KEYS, 'uid-ur', stamped)).toMatchObject({ ok: false });
      expect(checkApprovalAttestation(TEST_KEYS, 'uid-ur', attested('uid-ur', by('carol')), list)).toMatchObject({
        ok: false,
      });
    }
  });

  it('leaves stored approvals and every other kind of object alone', () => {
    const unchanged = unlockReview(base, { oldObject: base, user: 'carol', groups: GROUPS });
    expect(attestationPatch(unchanged.request, TEST_KEYS, AT)).toEqual([]);
    expect(attestationPatch(loadReview('configmap-apply-changed').request, TEST_KEYS, AT)).toEqual([]);
  });
});
