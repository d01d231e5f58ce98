// A Binding may set a locked pod's node and nothing else (issue 10, finding 5): the
// apiserver copies the Binding's annotations and labels onto the pod. On the captured
// pods/binding reviews, with the pod as the shell would look it up.

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest, KubeObject } from '../../../../src/admission/types.ts';
import { objectPath } from '../../../../src/cluster/facts.ts';
import { isPodBinding, needsParent, type RequestFacts } from '../../../../src/decision/facts.ts';
import { reviewRequest } from '../../../../src/review/review.ts';
import { loadReview } from '../../../helpers/fixtures.ts';
import { variant } from '../../../helpers/reviews.ts';
import { builtinSnapshot } from '../../../helpers/snapshots.ts';

const LABEL = 'bulwark.dev/immutable';

const pod = (review: AdmissionReviewRequest, locked = true): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: review.request.name!,
    namespace: review.request.namespace!,
    labels: { run: 'worker', ...(locked ? { [LABEL]: 'true' } : {}) },
    annotations: { owner: 'team-a' },
  },
  spec: { containers: [{ name: 'worker', image: 'registry.local/x@sha256:00' }] },
});
const found = (object: KubeObject): RequestFacts => ({ parent: { status: 'found', object } });
const decide = (review: AdmissionReviewRequest, facts: RequestFacts) =>
  reviewRequest({ request: review.request, snapshot: builtinSnapshot(), facts });

/** The captured binding with the Binding's metadata replaced. */
const binding = (metadata: { annotations?: Record<string, string>; labels?: Record<string, string> }) =>
  variant('pod-binding', (r) => {
    r.request.object!.metadata = { ...r.request.object!.metadata, ...metadata };
  });

describe('pods/binding of a locked pod', () => {
  it('captured: a Binding with an annotation is denied, naming it as a change of the pod', () => {
    const review = loadReview('pod-binding-annotated');
    expect(review.request).toMatchObject({ subResource: 'binding', operation: 'CREATE', kind: { kind: 'Binding' } });
    const verdict = decide(review, found(pod(review)));
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons[0]).toMatch(
      /^Pod demo\/worker is locked .*this binding update would change metadata\.annotations\.owner \(changed\)$/,
    );
  });

  it('captured: a plain Binding (what the scheduler sends) is allowed, without looking the pod up', () => {
    const review = loadReview('pod-binding');
    expect(review.request.object!.metadata!.annotations).toBeUndefined();
    expect(needsParent(review.request)).toBe(false);
    expect(decide(review, {}).allowed).toBe(true);
  });

  it.each<[string, Record<string, Record<string, string>>, string]>([
    ['a new annotation', { annotations: { note: 'x' } }, 'metadata.annotations.note (added)'],
    ['the lock label set to "false"', { labels: { [LABEL]: 'false' } }, `metadata.labels["${LABEL}"] (changed)`],
    ['another label', { labels: { team: 'mallory' } }, 'metadata.labels.team (added)'],
    [
      "a zone label replacing the pod's own",
      { labels: { 'topology.kubernetes.io/zone': 'evil' } },
      'metadata.labels["topology.kubernetes.io/zone"] (changed)',
    ],
  ])('a Binding with %s is denied', (_what, metadata, change) => {
    const review = binding(metadata);
    const locked = pod(review);
    locked.metadata!.labels = { ...locked.metadata!.labels, 'topology.kubernetes.io/zone': 'zone-a' };
    expect(decide(review, found(locked)).reasons.join()).toContain(change);
  });

  it(
    'a Binding with the zone and region labels the PodTopologyLabels plugin adds is allowed, also one that ' +
      'repeats an annotation',
    () => {
      const review = binding({
        labels: { 'topology.kubernetes.io/zone': 'zone-a', 'topology.kubernetes.io/region': 'r1' },
        annotations: { owner: 'team-a' },
      });
      expect(decide(review, found(pod(review))).allowed).toBe(true);
    },
  );

  it('the older bindings resource is judged the same way', () => {
    const legacy = variant('pod-binding-annotated', (r) => {
      r.request.resource = { group: '', version: 'v1', resource: 'bindings' };
      delete r.request.subResource;
    });
    expect(isPodBinding(legacy.request)).toBe(true);
    expect(objectPath(legacy.request)).toBe('/api/v1/namespaces/demo/pods/worker');
    expect(decide(legacy, found(pod(legacy))).reasons.join()).toContain(
      'this update would change metadata.annotations.owner (changed)',
    );
  });

  it('asks the shell for the pod, and denies when it cannot be read (fail closed)', () => {
    const review = loadReview('pod-binding-annotated');
    expect(needsParent(review.request)).toBe(true);
    expect(decide(review, { parent: { status: 'unavailable', reason: 'timeout' } }).reasons.join()).toMatch(
      /cannot tell whether the pods worker behind this binding request is locked: timeout/,
    );
    expect(decide(review, {}).allowed).toBe(false);
  });

  it('an unlocked pod, or one that is gone, may be bound with annotations', () => {
    const review = loadReview('pod-binding-annotated');
    expect(decide(review, found(pod(review, false))).allowed).toBe(true);
    expect(decide(review, { parent: { status: 'absent' } }).allowed).toBe(true);
  });
});
