// The image rule on reviews captured from the real apiserver, with verification
// results stated as facts (the shell's job, tested elsewhere).

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest } from '../../../src/admission/types.ts';
import type { ImageFacts, RequestFacts, VerificationResult } from '../../../src/decision/facts.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import type { PolicyStore } from '../../../src/policy/store.ts';
import { extractImages, imagesToCheck, podSpecPath } from '../../../src/rules/images/extract.ts';
import { planImages, verificationTasks } from '../../../src/rules/images/plan.ts';
import { taskKey } from '../../../src/rules/images/verification.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { imagePolicy, shopImagePolicy } from '../../helpers/policies.ts';
import { variant } from '../../helpers/reviews.ts';
import { imagePolicyStore, policyStore } from '../../helpers/snapshots.ts';
import { joinedRegExp } from '../../helpers/regexp.ts';

const API = `registry.local:5000/shop/api@sha256:${'ef'.repeat(32)}`;

const storeWith = imagePolicyStore;

const shop = shopImagePolicy;

/** Facts in which every verification task of the plan has `result`. */
function factsFor(
  store: PolicyStore,
  review: AdmissionReviewRequest,
  result: VerificationResult,
  tagDigests: ImageFacts['tagDigests'] = new Map(),
): RequestFacts {
  const plan = planImages(review.request, store.snapshot(), {});
  const digestOf = (ref: { original: string }) => {
    const d = tagDigests.get(ref.original);
    return d && 'digest' in d ? d.digest : undefined;
  };
  const verifications = new Map(verificationTasks(plan, digestOf).map((t) => [taskKey(t), result]));
  return { namespaceLabels: {}, images: { tagDigests, verifications } };
}

const decide = (store: PolicyStore, review: AdmissionReviewRequest, facts: RequestFacts) =>
  reviewRequest({ request: review.request, snapshot: store.snapshot(), facts });
const OK: VerificationResult = { ok: true, authority: 'release', detail: 'cosign signature (legacy) by key release' };

describe('extracting images', () => {
  it.each([
    ['pod-create', ['spec.containers[0].image']],
    ['deployment-create', ['spec.template.spec.containers[0].image', 'spec.template.spec.containers[1].image']],
    ['cronjob-create', ['spec.jobTemplate.spec.template.spec.containers[0].image']],
    ['pod-ephemeralcontainers', ['spec.ephemeralContainers[0].image']],
  ])('%s', (name, paths) => {
    expect(imagesToCheck(loadReview(name).request).map((u) => u.path)).toEqual(paths);
  });

  it('on UPDATE only images that are new are checked', () => {
    const review = loadReview('deployment-image-changed');
    const all = extractImages(review.request.object, podSpecPath(review.request)!);
    expect(all).toHaveLength(2);
    expect(imagesToCheck(review.request).map((u) => u.image)).toEqual(['registry.local:5000/shop/web:1.1']);
  });

  it('status, scale and other subresources run no images', () => {
    expect(imagesToCheck(loadReview('deployment-status-update').request)).toEqual([]);
    expect(imagesToCheck(loadReview('deployment-scale').request)).toEqual([]);
  });
});

describe('the image rule', () => {
  it('does nothing without ImagePolicies', () => {
    expect(decide(policyStore({ sources: [] }), loadReview('deployment-create'), {}).outcomes).toContainEqual({
      rule: 'images',
      decision: 'skip',
    });
  });

  it('admits a pinned, verified image and records which key verified it', () => {
    const store = storeWith(shop({ unmatchedImages: 'Allow' }));
    const review = loadReview('deployment-create');
    const v = decide(store, review, factsFor(store, review, OK));
    expect(v.allowed).toBe(true);
    expect(v.auditAnnotations['image-verified-api']).toBe('shop: cosign signature (legacy) by key release');
  });

  it('denies an image that matches no policy where a policy denies unmatched images', () => {
    const store = storeWith(shop());
    const review = loadReview('deployment-create');
    const v = decide(store, review, factsFor(store, review, OK));
    expect(v.reasons).toEqual([
      'image "docker.io/library/nginx:1.27" (spec.template.spec.containers[1].image) matches no ImagePolicy, ' +
        'and shop denies unmatched images in namespace demo',
    ]);
  });

  it('denies a tag without digest, showing the digest to pin', () => {
    const store = storeWith(shop());
    const review = loadReview('cronjob-create');
    const digest = `sha256:${'12'.repeat(32)}`;
    const v = decide(
      store,
      review,
      factsFor(store, review, OK, new Map([['registry.local:5000/shop/report:2.0', { digest }]])),
    );
    expect(v.reasons[0]).toBe(
      `image "registry.local:5000/shop/report:2.0" (spec.jobTemplate.spec.template.spec.containers[0].image) is ` +
        `not pinned by digest, which ImagePolicy shop requires: pin it by digest: ` +
        `registry.local:5000/shop/report@${digest} (where the tag points now)`,
    );
    const unknown = decide(store, review, factsFor(store, review, OK));
    expect(unknown.reasons[0]).toContain('find it with `crane digest registry.local:5000/shop/report:2.0`');
  });

  it('verifies the digest a tag points at when the policy does not require digests', () => {
    const store = storeWith(shop({ requireDigest: false }));
    const review = loadReview('cronjob-create');
    const digest = `sha256:${'12'.repeat(32)}`;
    const tags = new Map([['registry.local:5000/shop/report:2.0', { digest }]]);
    expect(decide(store, review, factsFor(store, review, OK, tags)).allowed).toBe(true);
    const failed = decide(
      store,
      review,
      factsFor(store, review, OK, new Map([['registry.local:5000/shop/report:2.0', { error: 'HTTP 503' }]])),
    );
    expect(failed.reasons[0]).toMatch(/cannot resolve its tag to a digest for ImagePolicy shop: HTTP 503/);
  });

  it.each<[VerificationResult, RegExp]>([
    [
      { ok: false, failure: 'unsigned', reason: 'no signature found' },
      /has no cosign signature and is not on an approved-digest list \(ImagePolicy shop\): no signature found/,
    ],
    [
      { ok: false, failure: 'not-genuine', reason: 'a sigstore bundle does not verify with the key it names' },
      joinedRegExp(
        /has a signature that is not genuine: it does not verify with the trusted key \(ImagePolicy /,
        /shop\): a sigstore bundle/,
      ),
    ],
    [
      { ok: false, failure: 'untrusted-signer', reason: 'signed with another key' },
      /is signed, but by a key the policy does not trust \(ImagePolicy shop\): signed with another key/,
    ],
    [{ ok: false, failure: 'wrong-digest', reason: 'payload names sha256:00' }, /made for a different digest/],
    [
      { ok: false, failure: 'registry-error', reason: 'HTTP 503' },
      /the registry failed \(ImagePolicy shop\): HTTP 503/,
    ],
    [
      { ok: false, failure: 'timeout', reason: 'verification did not finish within 8.0 s' },
      /could not be verified in time/,
    ],
  ])('denies with the cause: %j', (result, message) => {
    const store = storeWith(shop({ unmatchedImages: 'Allow' }));
    const review = loadReview('pod-create');
    const v = decide(store, review, factsFor(store, review, result));
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toMatch(
      new RegExp(
        `^image "${API.replace('api', 'worker')
          .replace(/ef/g, 'cd')
          .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" \\(spec\\.containers\\[0\\]\\.image\\) `,
      ),
    );
    expect(v.reasons[0]).toMatch(message);
  });

  it('every matching policy must pass', () => {
    const second = imagePolicy('second', {
      images: ['registry.local:5000/**'],
      authorities: [{ name: 'other', digests: [`sha256:${'00'.repeat(32)}`] }],
    });
    const store = storeWith(shop(), second);
    const review = loadReview('pod-create');
    const plan = planImages(review.request, store.snapshot(), {});
    const tasks = verificationTasks(plan, () => undefined);
    expect(tasks.map((t) => t.policy.name)).toEqual(['shop', 'second']);
    const verifications = new Map<string, VerificationResult>([
      [taskKey(tasks[0]!), OK],
      [taskKey(tasks[1]!), { ok: false, failure: 'unsigned', reason: 'not listed' }],
    ]);
    const v = decide(store, review, { namespaceLabels: {}, images: { tagDigests: new Map(), verifications } });
    expect(v.reasons).toEqual([expect.stringContaining('(ImagePolicy second): not listed')]);
  });

  it('Warn and Audit policies allow with a warning or an annotation', () => {
    for (const enforcement of ['Warn', 'Audit']) {
      const store = storeWith(shop({ enforcement, unmatchedImages: 'Allow' }));
      const review = loadReview('pod-create');
      const v = decide(store, review, factsFor(store, review, { ok: false, failure: 'unsigned', reason: 'none' }));
      expect(v.allowed).toBe(true);
      expect(v.warnings.length > 0).toBe(enforcement === 'Warn');
    }
  });

  it("checks kubectl debug's ephemeral container", () => {
    const store = storeWith(shop({ images: ['registry.local:5000/**'] }));
    const review = variant('pod-ephemeralcontainers', (r) => {
      delete r.request.oldObject!.metadata!.labels;
    });
    const v = decide(store, review, factsFor(store, review, OK));
    expect(v.reasons).toEqual([
      expect.stringMatching(
        joinedRegExp(
          /^image "registry\.local:5000\/tools\/debug:latest" \(spec\.ephemeralContainers\[0\]\.image\)/,
          / is not pinned by digest/,
        ),
      ),
    ]);
  });

  it('an invalid policy denies every image in its namespaces; missing results deny', () => {
    const store = storeWith(
      imagePolicy('broken', { images: ['**'], authorities: [{ name: 'k', key: { publicKey: 'nope' } }] }),
    );
    const v = decide(store, loadReview('pod-create'), { namespaceLabels: {} });
    expect(v.reasons[0]).toMatch(
      joinedRegExp(
        /^ImagePolicy broken is invalid, so no image in namespace demo can be verified: spec\.authoriti/,
        /es\[0\]\.key\.publicKey/,
      ),
    );
    const noFacts = decide(storeWith(shop()), loadReview('pod-create'), { namespaceLabels: {} });
    expect(noFacts.reasons[0]).toMatch(/no verification result/);
  });

  it('checks image volumes: a tag in an image volume is denied like one in a container', () => {
    const store = storeWith(shop());
    const review = variant('pod-create', (r) => {
      (r.request.object as any).spec.volumes = [
        { name: 'models', image: { reference: 'registry.local:5000/shop/models:latest', pullPolicy: 'Always' } },
      ];
    });
    const v = decide(store, review, factsFor(store, review, OK));
    expect(v.reasons).toEqual([
      expect.stringMatching(
        joinedRegExp(
          /^image "registry\.local:5000\/shop\/models:latest" \(spec\.volumes\[0\]\.image\.reference\) /,
          /is not pinned by digest, which ImagePolicy shop requires/,
        ),
      ),
    ]);
    const elsewhere = variant('pod-create', (r) => {
      (r.request.object as any).spec.volumes = [{ name: 'v', image: { reference: 'example.invalid/evil:latest' } }];
    });
    expect(decide(store, elsewhere, factsFor(store, elsewhere, OK)).reasons).toEqual([
      expect.stringContaining(
        'image "example.invalid/evil:latest" (spec.volumes[0].image.reference) matches no ImagePolicy, and shop ' +
          'denies unmatched images',
      ),
    ]);
  });

  it('a malformed image is denied', () => {
    const store = storeWith(shop());
    const review = variant('pod-create', (r) => {
      (r.request.object as any).spec.containers[0].image = 'Registry/UPPER';
    });
    expect(decide(store, review, { namespaceLabels: {} }).reasons[0]).toMatch(/is not a valid image reference/);
  });
});
