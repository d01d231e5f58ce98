// GitOps tools read denial text. Flux's server-side apply treats an error whose message
// matches `.*is\simmutable.*` or `.*immutable\sfield.*` as an immutable-field error
// (fluxcd/pkg ssa/errors/immutable.go, lines 25-28, IsImmutableError) and, with
// `force: true`, deletes and recreates the object: for a locked object that is a full
// replacement (when DELETE is not locked) or an endless loop. The same function, like
// kubectl's `apply --force` (kubectl pkg/cmd/apply/patcher.go, which Argo CD's
// Replace/Force sync options go through: gitops-engine pkg/utils/kube/resource_ops.go),
// also treats HTTP 409 Conflict and 422 Invalid that way, whatever the text. So every
// denial Bulwark writes must match neither pattern and be answered 403 Forbidden.

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest } from '../../../src/admission/types.ts';
import type { RequestFacts } from '../../../src/decision/facts.ts';
import { encodeResponse } from '../../../src/review/encode.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import { loadReview, reviewNames } from '../../helpers/fixtures.ts';
import { builtinSnapshot } from '../../helpers/snapshots.ts';

/** Flux's patterns, as Go's regexp reads them (`\s` is any whitespace). */
const FLUX_IMMUTABLE_PATTERNS = [/.*is\simmutable.*/, /.*immutable\sfield.*/];

const firesGitOpsHeuristic = (message: string) => FLUX_IMMUTABLE_PATTERNS.some((p) => p.test(message));

/** Facts for reviews whose object is not the locked one: the parent, labelled, as the shell would find it. */
function factsFor(review: AdmissionReviewRequest): RequestFacts {
  const { request } = review;
  const labelled = {
    metadata: {
      name: request.name ?? 'locked',
      namespace: request.namespace ?? 'default',
      labels: { 'bulwark.dev/immutable': 'true' },
    },
  };
  if (request.subResource === 'scale')
    return { parent: { status: 'found', object: { apiVersion: 'apps/v1', kind: 'Deployment', ...labelled } } };
  if (request.subResource === 'eviction' || request.subResource === 'binding')
    return { parent: { status: 'found', object: { apiVersion: 'v1', kind: 'Pod', ...labelled } } };
  return {};
}

/** Every captured review, with and without its parent known, through the core and the encoder. */
function allResponses() {
  return reviewNames().flatMap((name) => {
    const review = loadReview(name);
    return [factsFor(review), {}].map((facts) => {
      const verdict = reviewRequest({ request: review.request, snapshot: builtinSnapshot(), facts });
      return { name, verdict, response: encodeResponse(review.request.uid, verdict).response };
    });
  });
}

describe('denial wording and GitOps immutable-field heuristics', () => {
  const responses = allResponses();
  const denials = responses.filter((r) => !r.response.allowed);

  it('denies enough of the captured reviews for the check to mean something', () => {
    expect(denials.length).toBeGreaterThanOrEqual(10);
  });

  it("matches none of Flux's patterns, in any denial or warning", () => {
    const texts = responses.flatMap((r) => [r.response.status?.message ?? '', ...(r.response.warnings ?? [])]);
    expect(texts.filter(firesGitOpsHeuristic)).toEqual([]);
  });

  it('says "is locked" and answers 403 Forbidden, never 409 or 422', () => {
    for (const d of denials) {
      expect([403, 500], d.name).toContain(d.response.status?.code);
    }
    const locked = denials.filter((d) => d.verdict.outcomes.some((o) => o.rule === 'immutability'));
    expect(locked.length).toBeGreaterThan(5);
    for (const d of locked) expect(d.response.status?.message, d.name).toMatch(/ is locked \(labelled |cannot tell/);
  });

  it('would have caught the old wording (the check can fail)', () => {
    expect(firesGitOpsHeuristic('ConfigMap demo/cfg is immutable (labelled bulwark.dev/immutable=true)')).toBe(true);
    expect(firesGitOpsHeuristic('spec.selector: Invalid value: field is immutable')).toBe(true);
    expect(firesGitOpsHeuristic('ConfigMap demo/cfg is locked (labelled bulwark.dev/immutable=true)')).toBe(false);
  });
});
