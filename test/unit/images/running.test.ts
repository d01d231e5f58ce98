// Running Pods judged against the ImagePolicies in force now (rules/images/running.ts), on a Pod
// captured from the real apiserver: every container list is judged as admission judges a
// CREATE; an image that would be denied now is `fail`, one that could not be verified `error`
// (never pass), one a Warn policy only warns about `warn`; an unpinned image fails where the
// policy requires digests, whenever the Pod was admitted.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/admission/types.ts';
import type { RequestFacts, VerificationResult } from '../../../src/decision/facts.ts';
import type { PolicyStore } from '../../../src/policy/store.ts';
import { planImages, verificationTasks } from '../../../src/rules/images/plan.ts';
import { isTerminated, judgeRunningPod, podAsCreate } from '../../../src/rules/images/running.ts';
import { taskKey } from '../../../src/rules/images/verification.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { P256_PUBLIC_KEY, imagePolicy, shopImagePolicy } from '../../helpers/policies.ts';
import { imagePolicyStore } from '../../helpers/snapshots.ts';

const WORKER = `registry.local:5000/shop/worker@sha256:${'cd'.repeat(32)}`;
const DEBUG = `registry.local:5000/shop/debug@sha256:${'ab'.repeat(32)}`;
const INIT = `registry.local:5000/shop/init@sha256:${'12'.repeat(32)}`;

/** The captured Pod (namespace demo, Pending), with an initContainer and an ephemeral container added. */
function runningPod(patch: (spec: Record<string, unknown>) => void = () => {}): KubeObject {
  const pod = structuredClone(loadReview('pod-create').request.object!) as KubeObject & {
    spec: Record<string, unknown>;
  };
  pod.spec.initContainers = [{ name: 'init', image: INIT }];
  pod.spec.ephemeralContainers = [{ name: 'debugger', image: DEBUG }];
  patch(pod.spec);
  return pod;
}

const storeWith = imagePolicyStore;

const shop = shopImagePolicy;

/** Facts in which each verification task has the result `resultOf(image)` gives. */
function factsFor(store: PolicyStore, pod: KubeObject, resultOf: (image: string) => VerificationResult): RequestFacts {
  const plan = planImages(podAsCreate(pod), store.snapshot(), {});
  const verifications = new Map(
    verificationTasks(plan, () => undefined).map((t) => [
      taskKey(t),
      resultOf(`${t.image.registry}/${t.image.repository}@${t.image.digest}`),
    ]),
  );
  return { now: 0, namespaceLabels: {}, images: { tagDigests: new Map(), verifications } };
}

const OK: VerificationResult = { ok: true, authority: 'release', detail: 'cosign signature by key release' };
const OTHER_KEY: VerificationResult = {
  ok: false,
  failure: 'untrusted-signer',
  reason: 'the bundle names another key',
};
const REGISTRY_DOWN: VerificationResult = { ok: false, failure: 'registry-error', reason: 'connect ECONNREFUSED' };

describe('running Pods against the ImagePolicies in force', () => {
  it('a Pod whose images all verify has no finding', () => {
    const store = storeWith(shop());
    const pod = runningPod();
    expect(
      judgeRunningPod(
        pod,
        store.snapshot(),
        factsFor(store, pod, () => OK),
      ),
    ).toEqual([]);
  });

  it('judges every container list: a container, initContainer and ephemeral container signed by another key', () => {
    const store = storeWith(shop());
    const pod = runningPod();
    const found = judgeRunningPod(
      pod,
      store.snapshot(),
      factsFor(store, pod, () => OTHER_KEY),
    );
    expect(found.map((f) => [f.result, f.path, f.image])).toEqual([
      ['fail', 'spec.initContainers[0].image', INIT],
      ['fail', 'spec.containers[0].image', WORKER],
      ['fail', 'spec.ephemeralContainers[0].image', DEBUG],
    ]);
    expect(found[1]!.policies).toEqual(['shop']);
    expect(found[1]!.message).toBe(
      `image "${WORKER}" (spec.containers[0].image) is signed, but by a key the policy does not trust ` +
        '(ImagePolicy shop): the bundle names another key',
    );
  });

  it('a digest no longer on the approved list fails', () => {
    const store = storeWith(shop({ authorities: [{ name: 'listed', digests: [`sha256:${'12'.repeat(32)}`] }] }));
    const pod = runningPod();
    const unsigned = (image: string): VerificationResult =>
      image === INIT ? OK : { ok: false, failure: 'unsigned', reason: 'not on its approved-digest list' };
    const found = judgeRunningPod(pod, store.snapshot(), factsFor(store, pod, unsigned));
    expect(found.map((f) => f.image)).toEqual([WORKER, DEBUG]);
    expect(found[0]!.message).toContain('has no cosign signature and is not on an approved-digest list');
  });

  it('an unpinned image fails where the policy requires digests, without a registry round', () => {
    const store = storeWith(shop());
    const pod = runningPod((spec) => {
      (spec.containers as { image: string }[])[0]!.image = 'registry.local:5000/shop/worker:1.0';
    });
    const found = judgeRunningPod(
      pod,
      store.snapshot(),
      factsFor(store, pod, () => OK),
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ result: 'fail', path: 'spec.containers[0].image' });
    expect(found[0]!.message).toContain('is not pinned by digest, which ImagePolicy shop requires');
  });

  it('a registry that cannot be reached is `error`, never a pass; a definitive failure beside it is `fail`', () => {
    const store = storeWith(shop());
    const pod = runningPod();
    const mixed = (image: string) => (image === WORKER ? OTHER_KEY : REGISTRY_DOWN);
    const found = judgeRunningPod(pod, store.snapshot(), factsFor(store, pod, mixed));
    expect(found.map((f) => [f.result, f.image])).toEqual([
      ['error', INIT],
      ['fail', WORKER],
      ['error', DEBUG],
    ]);
    expect(found[0]!.message).toContain('could not be verified: the registry failed (ImagePolicy shop)');
  });

  it('no verification result at all (nothing gathered) is `error`, not a pass', () => {
    const store = storeWith(shop());
    const found = judgeRunningPod(runningPod(), store.snapshot(), { now: 0, namespaceLabels: {} });
    expect(new Set(found.map((f) => f.result))).toEqual(new Set(['error']));
    expect(found).toHaveLength(3);
  });

  it('under two policies the worst result wins and names its policy', () => {
    const store = storeWith(
      shop(),
      imagePolicy('workers', {
        images: ['registry.local:5000/shop/worker*'],
        authorities: [{ name: 'ops', key: { publicKey: P256_PUBLIC_KEY } }],
      }),
    );
    const pod = runningPod((spec) => {
      delete spec.initContainers;
      delete spec.ephemeralContainers;
    });
    const plan = planImages(podAsCreate(pod), store.snapshot(), {});
    const verifications = new Map(
      verificationTasks(plan, () => undefined).map((t) => [
        taskKey(t),
        t.policy.name === 'shop' ? REGISTRY_DOWN : OTHER_KEY,
      ]),
    );
    const found = judgeRunningPod(pod, store.snapshot(), {
      now: 0,
      namespaceLabels: {},
      images: { tagDigests: new Map(), verifications },
    });
    expect(found).toEqual([expect.objectContaining({ result: 'fail', policies: ['workers'] })]);
  });

  it('a Warn policy makes it `warn`; no policy for the namespace, nothing', () => {
    const warnStore = storeWith(shop({ enforcement: 'Warn' }));
    const pod = runningPod();
    const warned = judgeRunningPod(
      pod,
      warnStore.snapshot(),
      factsFor(warnStore, pod, () => OTHER_KEY),
    );
    expect(new Set(warned.map((f) => f.result))).toEqual(new Set(['warn']));
    const elsewhere = storeWith(shop({ match: { namespaces: ['prod'] } }));
    expect(judgeRunningPod(pod, elsewhere.snapshot(), { now: 0, namespaceLabels: {} })).toEqual([]);
  });

  it('judges the Pod as a CREATE of itself; a Pod that ran to its end is terminated', () => {
    const pod = runningPod();
    expect(podAsCreate(pod)).toMatchObject({ operation: 'CREATE', namespace: 'demo', kind: { kind: 'Pod' } });
    expect(isTerminated(pod)).toBe(false);
    expect(isTerminated({ ...pod, status: { phase: 'Succeeded' } } as KubeObject)).toBe(true);
    expect(isTerminated({ ...pod, status: { phase: 'Failed' } } as KubeObject)).toBe(true);
  });
});
