// A smaller fail-closed blast radius (issue 12): with Bulwark's Deployment scaled to zero,
// what Bulwark has nothing to decide about keeps working, and what it protects stays
// protected. Bulwark's audit loop (every 60 s with the chart's defaults) marks namespaces
// without locks (bulwark.dev/locks=none) and without ImagePolicies (bulwark.dev/images=none);
// the chart's subresources, guards and images entries skip marked namespaces.
//
// While no replica runs, in a marked namespace: an HPA-style scale, a node drain (evictions),
// `kubectl create deployment` and `kubectl delete ns` succeed. In a namespace holding a lock:
// the locked object's update, a scale, an eviction and the namespace's deletion are refused
// (fail closed). A namespace created while Bulwark is down is unmarked: it is judged, so
// there a Deployment is refused too (the price of never trusting a namespace unseen).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlOk } from '../../harness/kubectl.ts';
import { kubectl, kubectlJson, newNamespace, RELEASE, RELEASE_NAMESPACE, until } from './context.ts';
import { apply, deployment, HELLO_IMAGE, LOCK, podsOf, readyPods } from './workloads.ts';

const NODE = 'bulwark-node';
const BULWARK_PODS = 'app.kubernetes.io/name=bulwark';
const UNREACHABLE = 'failed calling webhook';

let calm = '';
let doomed = '';
let guarded = '';

const labelsOf = async (ns: string) =>
  (await kubectlJson<{ metadata: { labels?: Record<string, string> } }>(['get', 'namespace', ns])).metadata.labels ??
  {};

async function marked(ns: string, marks: Record<string, string>): Promise<void> {
  await until(
    `namespace ${ns} marked ${JSON.stringify(marks)}`,
    async () => {
      const labels = await labelsOf(ns);
      return Object.entries(marks).every(([k, v]) => labels[k] === v) ? true : undefined;
    },
    150_000, // one audit interval (60 s) and a scan, on a busy machine
  );
}

const scaleBulwark = (replicas: number) =>
  kubectlOk(kubectl, ['scale', `deployment/${RELEASE}`, '-n', RELEASE_NAMESPACE, `--replicas=${replicas}`]);

beforeAll(async () => {
  calm = await newNamespace('calm');
  doomed = await newNamespace('doomed');
  guarded = await newNamespace('guarded');
  await apply(deployment(calm, 'calm-web', 2), deployment(guarded, 'web', 1, { locked: true }), {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'locked', namespace: guarded, labels: LOCK },
    data: { n: '0' },
  });
  await readyPods(calm, 'app=calm-web', 2);
  await readyPods(guarded, 'app=web', 1);
  await marked(calm, { 'bulwark.dev/locks': 'none', 'bulwark.dev/images': 'none' });
  await marked(doomed, { 'bulwark.dev/locks': 'none' });
  // The locked namespace keeps only the images mark.
  const labels = await labelsOf(guarded);
  expect(labels['bulwark.dev/locks']).toBeUndefined();
  await scaleBulwark(0);
  await until(
    'no Bulwark pod left',
    async () => ((await podsOf(RELEASE_NAMESPACE, BULWARK_PODS)).items.length === 0 ? true : undefined),
    120_000,
  );
}, 600_000);

afterAll(async () => {
  await scaleBulwark(2);
  await readyPods(RELEASE_NAMESPACE, BULWARK_PODS, 2, 240_000);
}, 300_000);

describe('with no Bulwark pod running', () => {
  it('an HPA-style scale and a node drain in a namespace without locks succeed', async () => {
    await kubectlOk(kubectl, ['scale', 'deployment/calm-web', '-n', calm, '--replicas=3'], { user: 'alice' });
    await readyPods(calm, 'app=calm-web', 3);
    try {
      const drain = await kubectl(['drain', NODE, '--pod-selector=app=calm-web', '--timeout=90s'], {
        timeoutMs: 100_000,
      });
      expect(drain.code, drain.stderr).toBe(0);
      expect(drain.stdout).toMatch(/pod\/calm-web-\S+ evicted/);
    } finally {
      await kubectlOk(kubectl, ['uncordon', NODE]);
    }
    await readyPods(calm, 'app=calm-web', 3);
  }, 240_000);

  it('a Deployment in a namespace without an ImagePolicy is created and runs', async () => {
    const r = await kubectl(['create', 'deployment', 'more', '-n', calm, `--image=${HELLO_IMAGE}`], { user: 'alice' });
    expect(r.code, r.stderr).toBe(0);
    await readyPods(calm, 'app=more', 1);
  }, 180_000);

  it('kubectl delete ns of a namespace without locks completes', async () => {
    const r = await kubectl(['delete', 'namespace', doomed, '--timeout=120s'], { user: 'alice', timeoutMs: 130_000 });
    expect(r.code, r.stderr).toBe(0);
    expect((await kubectl(['get', 'namespace', doomed])).code).not.toBe(0);
  }, 180_000);

  it('locked objects stay protected: update, scale, eviction and the namespace deletion are refused', async () => {
    const update = await kubectl(['patch', 'configmap', 'locked', '-n', guarded, '-p', '{"data":{"n":"1"}}'], {
      user: 'alice',
    });
    expect(update.code).not.toBe(0);
    expect(update.stderr).toContain(UNREACHABLE);
    const scale = await kubectl(['scale', 'deployment/web', '-n', guarded, '--replicas=3'], { user: 'alice' });
    expect(scale.stderr).toContain(UNREACHABLE);
    const [pod] = (await podsOf(guarded, 'app=web')).items;
    const eviction = await kubectl(
      ['create', '--raw', `/api/v1/namespaces/${guarded}/pods/${pod!.metadata.name}/eviction`, '-f', '-'],
      {
        user: 'alice',
        input: JSON.stringify({
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name: pod!.metadata.name, namespace: guarded },
        }),
      },
    );
    expect(eviction.stderr).toContain(UNREACHABLE);
    const deletion = await kubectl(['delete', 'namespace', guarded, '--wait=false'], { user: 'alice' });
    expect(deletion.stderr).toContain(UNREACHABLE);
    // A lock cannot be created either (it would have to remove a mark first).
    const created = await kubectl(['create', '-f', '-'], {
      user: 'alice',
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'another', namespace: calm, labels: LOCK },
      }),
    });
    expect(created.stderr).toContain(UNREACHABLE);
  });

  it('a namespace nobody has marked yet is judged: a Deployment there is refused (fail closed)', async () => {
    const fresh = await newNamespace('fresh');
    const r = await kubectl(['create', 'deployment', 'web', '-n', fresh, `--image=${HELLO_IMAGE}`], { user: 'alice' });
    expect(r.stderr).toContain(UNREACHABLE);
  });
});
