// Locking an object of a kind Bulwark may not list is refused, up front, naming the chart
// value that grants the list; the deletion guards could not see it once locked. Only a
// write that makes the object locked is concerned, and only when the shell found the
// kind forbidden (403), never when it could not tell.

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest } from '../../../../src/admission/types.ts';
import type { RequestFacts } from '../../../../src/decision/facts.ts';
import { reviewRequest } from '../../../../src/review/review.ts';
import { locksObject } from '../../../../src/rules/guards/unlistable-lock.ts';
import { loadReview } from '../../../helpers/fixtures.ts';
import { variant } from '../../../helpers/reviews.ts';
import { builtinSnapshot } from '../../../helpers/snapshots.ts';

const LABEL = { key: 'bulwark.dev/immutable', value: 'true' };
const decide = (review: AdmissionReviewRequest, facts: RequestFacts) =>
  reviewRequest({ request: review.request, snapshot: builtinSnapshot(), facts });

/** A Secret created with the lock label (a captured locked ConfigMap create, as a Secret). */
const lockedSecretCreate = variant('configmap-create-labelled', (r) => {
  r.request.kind = { group: '', version: 'v1', kind: 'Secret' };
  r.request.resource = { group: '', version: 'v1', resource: 'secrets' };
  r.request.object = { ...r.request.object!, kind: 'Secret' };
});

describe('locking a kind Bulwark may not list', () => {
  it('which writes lock an object: a labelled CREATE and an UPDATE adding the label', () => {
    expect(locksObject(loadReview('configmap-create-labelled').request, LABEL)).toBe(true);
    expect(locksObject(loadReview('configmap-label-added').request, LABEL)).toBe(true);
    // Already locked, unlabelled, a subresource: not a new lock.
    expect(locksObject(loadReview('secret-update-labelled').request, LABEL)).toBe(false);
    expect(locksObject(loadReview('configmap-update-unlabelled').request, LABEL)).toBe(false);
    expect(locksObject(loadReview('deployment-status-update').request, LABEL)).toBe(false);
  });

  it('a Secret created locked while Secrets may not be listed: denied, naming rbac.listSecrets', () => {
    const verdict = decide(lockedSecretCreate, { lockListing: 'forbidden' });
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons.join('; ')).toMatch(
      /bulwark may not list secrets, so it could not see this object once locked .*rbac\.listSecrets=true/,
    );
  });

  it('a custom resource kind labelled locked: denied, naming rbac.lockableResources', () => {
    const review = variant('configmap-label-added', (r) => {
      r.request.resource = { group: 'e2e.bulwark.dev', version: 'v1', resource: 'widgets' };
    });
    const verdict = decide(review, { lockListing: 'forbidden' });
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons.join('; ')).toMatch(/widgets\.e2e\.bulwark\.dev in rbac\.lockableResources/);
  });

  it('allowed when listable, or when the API server gave no clear answer', () => {
    expect(decide(lockedSecretCreate, { lockListing: 'listable' }).allowed).toBe(true);
    expect(decide(lockedSecretCreate, { lockListing: 'unknown' }).allowed).toBe(true);
    expect(decide(lockedSecretCreate, {}).allowed).toBe(true);
  });
});
