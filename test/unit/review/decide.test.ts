// decide() never throws: an unexpected failure while deciding is a denial (fail closed).

import { describe, expect, it } from 'vitest';
import { decide, noClusterFacts } from '../../../src/review/decide.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { builtinSnapshot } from '../../helpers/snapshots.ts';

describe('decide', () => {
  it('denies with a reason when fact lookup throws', async () => {
    const review = loadReview('configmap-apply-identical');
    const decided = await decide(review, { snapshot: () => builtinSnapshot(), resolveFacts: async () => { throw new Error('boom'); } });
    expect(decided.error).toBeInstanceOf(Error);
    expect(decided.review.response).toMatchObject({ uid: review.request.uid, allowed: false, status: { code: 403 } });
    expect(decided.review.response.status?.message).toMatch(/fail closed.*boom/);
  });

  it('denies when the policy snapshot cannot be read', async () => {
    const decided = await decide(loadReview('configmap-apply-identical'), {
      snapshot: () => { throw new TypeError('snapshot gone'); },
      resolveFacts: noClusterFacts,
    });
    expect(decided.review.response.allowed).toBe(false);
  });

  it('denies when the rule meets an object shape it does not expect', async () => {
    const review = loadReview('configmap-apply-changed');
    // A getter that throws stands for any bug deep inside a rule.
    Object.defineProperty(review.request.oldObject!.metadata!, 'labels', { get() { throw new Error('bad labels'); } });
    const decided = await decide(review, { snapshot: () => builtinSnapshot(), resolveFacts: noClusterFacts });
    expect(decided.review.response.allowed).toBe(false);
    expect(decided.review.response.status?.message).toContain('bad labels');
  });
});
