// Namespace marks (rules/immutability/namespace-marks.ts): which requests put a lock into a
// namespace (and so must remove its bulwark.dev/locks mark first), the denial when that
// could not be done, and which marks the loop gives a namespace. Captured reviews.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../../src/admission/types.ts';
import { reviewRequest } from '../../../../src/review/review.ts';
import {
  CLAIM_QUIET_MS,
  LOCK_ADMITTED_ANNOTATION,
  addsLock,
  claimStamp,
  desiredMarks,
} from '../../../../src/rules/immutability/namespace-marks.ts';
import { DEFAULT_LOCK_LABEL } from '../../../../src/policy/builtin.ts';
import { loadReview } from '../../../helpers/fixtures.ts';
import { imagePolicy } from '../../../helpers/policies.ts';
import { variant } from '../../../helpers/reviews.ts';
import { builtinSnapshot, compiler, snapshotOf } from '../../../helpers/snapshots.ts';

const request = (name: string) => loadReview(name).request;
const NOW = Date.parse('2026-11-29T09:00:30Z');

describe('addsLock', () => {
  it('is a namespaced object created with the lock label, or updated to carry it', () => {
    expect(addsLock(request('configmap-create-labelled'), DEFAULT_LOCK_LABEL)).toBe(true);
    expect(addsLock(request('pod-create'), DEFAULT_LOCK_LABEL)).toBe(true);
    expect(addsLock(request('configmap-label-added'), DEFAULT_LOCK_LABEL)).toBe(true);
  });

  it('is not a create without the label, an update of what was locked already, or a removal', () => {
    expect(addsLock(request('deployment-create'), DEFAULT_LOCK_LABEL)).toBe(false);
    expect(addsLock(request('configmap-apply-changed'), DEFAULT_LOCK_LABEL)).toBe(false);
    expect(addsLock(request('configmap-label-removed'), DEFAULT_LOCK_LABEL)).toBe(false);
    expect(addsLock(request('configmap-update-unlabelled'), DEFAULT_LOCK_LABEL)).toBe(false);
  });

  it('is not a cluster-scoped object, a Namespace or a subresource', () => {
    const cluster = variant('configmap-create-labelled', (r) => {
      delete r.request.namespace;
    }).request;
    expect(addsLock(cluster, DEFAULT_LOCK_LABEL)).toBe(false);
    const namespace = variant('configmap-create-labelled', (r) => {
      r.request.kind = { group: '', version: 'v1', kind: 'Namespace' };
    }).request;
    expect(addsLock(namespace, DEFAULT_LOCK_LABEL)).toBe(false);
    const status = variant('configmap-label-added', (r) => {
      r.request.subResource = 'status';
    }).request;
    expect(addsLock(status, DEFAULT_LOCK_LABEL)).toBe(false);
  });
});

describe('the claim in the decision', () => {
  const snapshot = builtinSnapshot();

  it('denies a lock whose namespace mark could not be removed (fail closed), naming why', () => {
    const verdict = reviewRequest({
      request: request('configmap-create-labelled'),
      snapshot,
      facts: { namespaceClaim: { status: 'unavailable', reason: 'KUBE_API_ERROR: 403' } },
    });
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons.join()).toBe(
      'cannot record that namespace demo now holds an object labelled bulwark.dev/immutable=true (removing its ' +
        'bulwark.dev/locks mark), so the lock is not admitted (fail closed): KUBE_API_ERROR: 403',
    );
  });

  it('allows it once claimed, and ignores the fact on requests that add no lock', () => {
    const claimed = { namespaceClaim: { status: 'claimed' as const } };
    expect(reviewRequest({ request: request('configmap-create-labelled'), snapshot, facts: claimed }).allowed).toBe(
      true,
    );
    const failed = { namespaceClaim: { status: 'unavailable' as const, reason: 'x' } };
    expect(reviewRequest({ request: request('deployment-create'), snapshot, facts: failed }).allowed).toBe(true);
  });
});

describe('desiredMarks', () => {
  const ns = (labels: Record<string, string> = {}, annotations: Record<string, string> = {}) => ({
    name: 'shop',
    labels,
    annotations,
    terminating: false,
  });
  const context = { holdsLocks: false, listingComplete: true, snapshot: builtinSnapshot(), now: NOW };

  it('marks a namespace without locks and without ImagePolicies with both marks', () => {
    expect(desiredMarks(ns(), context)).toEqual({ locks: true, images: true });
  });

  it('no locks mark while it holds a lock, while a lock was admitted recently, or from an incomplete listing', () => {
    expect(desiredMarks(ns(), { ...context, holdsLocks: true })?.locks).toBe(false);
    const recent = { [LOCK_ADMITTED_ANNOTATION]: claimStamp(NOW - 60_000) };
    expect(desiredMarks(ns({}, recent), context)?.locks).toBe(false);
    const old = { [LOCK_ADMITTED_ANNOTATION]: claimStamp(NOW - CLAIM_QUIET_MS - 60_000) };
    expect(desiredMarks(ns({}, old), context)?.locks).toBe(true);
    expect(desiredMarks(ns(), { ...context, listingComplete: false })?.locks).toBe(false);
    // A mark already there stays: any lock since was claimed, which removed it.
    expect(desiredMarks(ns({ 'bulwark.dev/locks': 'none' }), { ...context, listingComplete: false })?.locks).toBe(true);
  });

  it('no images mark where an ImagePolicy applies, or might (by name or by label)', () => {
    const compile = (spec: Record<string, unknown>) => {
      const r = compiler.image(imagePolicy('p', spec) as KubeObject);
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      return r.policy;
    };
    const base = { images: ['**'], authorities: [{ name: 'a', digests: [`sha256:${'a'.repeat(64)}`] }] };
    const everywhere = snapshotOf({ images: [compile(base)] });
    expect(desiredMarks(ns(), { ...context, snapshot: everywhere })?.images).toBe(false);
    const byLabel = snapshotOf({
      images: [compile({ ...base, match: { namespaceSelector: { matchLabels: { team: 'pay' } } } })],
    });
    expect(desiredMarks(ns({ team: 'pay' }), { ...context, snapshot: byLabel })?.images).toBe(false);
    expect(desiredMarks(ns({ team: 'web' }), { ...context, snapshot: byLabel })?.images).toBe(true);
    const byName = snapshotOf({ images: [compile({ ...base, match: { namespaces: ['sh*'] } })] });
    expect(desiredMarks(ns(), { ...context, snapshot: byName })?.images).toBe(false);
  });

  it('leaves a terminating namespace alone', () => {
    expect(desiredMarks({ ...ns(), terminating: true }, context)).toBeUndefined();
  });

  it('stamps the minute, so repeated claims within it write nothing', () => {
    expect(claimStamp(NOW)).toBe('2026-11-29T09:00:00.000Z');
    expect(claimStamp(NOW + 20_000)).toBe(claimStamp(NOW));
  });
});
