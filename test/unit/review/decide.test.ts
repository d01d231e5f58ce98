// decide() never throws: an unexpected failure while deciding is a denial (fail closed)
// that names a code and the request uid, never the exception's own text.

import { describe, expect, it } from 'vitest';
import { BaseError } from '../../../src/errors.ts';
import { decide, noClusterFacts } from '../../../src/review/decide.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { builtinSnapshot } from '../../helpers/snapshots.ts';

describe('decide', () => {
  it('denies with a reason when fact lookup throws', async () => {
    const review = loadReview('configmap-apply-identical');
    const decided = await decide(review, {
      snapshot: () => builtinSnapshot(),
      resolveFacts: async () => {
        throw new Error('boom');
      },
    });
    expect(decided.error).toBeInstanceOf(Error);
    expect(decided.review.response).toMatchObject({
      uid: review.request.uid,
      allowed: false,
      status: { code: 500, reason: 'InternalError' },
    });
    expect(decided.review.response.status?.message).toBe(
      `bulwark could not decide this request and denies it (fail closed): DECISION_FAILED; see the bulwark logs ` +
        `for request uid ${review.request.uid}`,
    );
    expect(decided.verdict.auditAnnotations).toMatchObject({
      decision: 'deny',
      reason: 'internal error: DECISION_FAILED',
    });
  });

  it('names the code of a coded error, not its message', async () => {
    const review = loadReview('configmap-apply-identical');
    const failing = async () => {
      throw new BaseError('KUBE_API_UNREACHABLE', 'GET /api/v1/secrets/token-xyz: connect ECONNREFUSED 10.0.0.1:443');
    };
    const decided = await decide(review, { snapshot: () => builtinSnapshot(), resolveFacts: failing });
    expect(decided.review.response.status?.message).toContain(
      '(fail closed): KUBE_API_UNREACHABLE; see the bulwark logs for request uid',
    );
    expect(decided.review.response.status?.message).not.toContain('ECONNREFUSED');
  });

  it('denies when the policy snapshot cannot be read', async () => {
    const decided = await decide(loadReview('configmap-apply-identical'), {
      snapshot: () => {
        throw new TypeError('snapshot gone');
      },
      resolveFacts: noClusterFacts,
    });
    expect(decided.review.response.allowed).toBe(false);
  });

  it('denies when the rule meets an object shape it does not expect', async () => {
    const review = loadReview('configmap-apply-changed');
    // A getter that throws stands for any bug deep inside a rule.
    Object.defineProperty(review.request.oldObject!.metadata!, 'labels', {
      get() {
        throw new Error('bad labels');
      },
    });
    const decided = await decide(review, { snapshot: () => builtinSnapshot(), resolveFacts: noClusterFacts });
    expect(decided.review.response.allowed).toBe(false);
    expect(decided.review.response.status?.message).not.toContain('bad labels');
    expect(decided.review.response.status?.message).toContain(review.request.uid);
  });
});
