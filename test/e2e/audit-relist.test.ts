// The audit's paged lists when their continue token expires (410 Gone), on the real apiserver
// (paged-list.ts). The running-pod audit (ledger/running-pods.ts, in-process here, over the real apiserver with a
// scripted registry) lists Pods two a page; after its first page, one Pod of that page is
// changed (its image), another deleted, a Pod of a later page deleted, and etcd is compacted (its HTTP
// gateway), which expires the list's continue token (the e2e apiserver serves later pages from
// etcd: global-setup.ts). The audit lists again from the start and completes: the unchanged
// Pods judged once, the changed one again, the deleted ones not reported.
// The namespace `0relist-…` sorts before every other, so its Pods are the list's first.
// The locked-object listing (locked-objects.ts), the same way over ConfigMaps under a label of
// this test's: the changed one is judged again, the deleted one judged before is reported
// vanished, and the watch starts at the fresh list's resourceVersion.

import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createKubeReader, loadKubeConfig, type KubeClient } from '../../src/cluster/kube-client.ts';
import { listLockedObjects } from '../../src/ledger/locked-objects.ts';
import type { WatchStart } from '../../src/ledger/watches.ts';
import { createPodAudit } from '../../src/ledger/running-pods.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { e2eCluster, kubectl, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { readState, stateFile } from '../../harness/state.ts';
import { shopImagePolicy } from '../helpers/policies.ts';
import { CONFIGMAPS } from '../helpers/resources.ts';
import { digest, scriptedRegistry } from '../helpers/scripted-registry.ts';
import { imagePolicyStore } from '../helpers/snapshots.ts';

const COUNT = 6;
const image = (n: number) => `registry.local:5000/shop/app${n}@${digest(n)}`;
let ns: string;
let reader: KubeClient;

/** Compacts etcd to its current revision: every continue token issued before the last write expires. */
async function compactEtcd(): Promise<void> {
  const port = readState(stateFile(e2eCluster().dir))?.ports.etcdClient;
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body: JSON.stringify(body) });
    expect(r.status).toBe(200);
    return (await r.json()) as { header: { revision: string } };
  };
  const { header } = await post('/v3/kv/range', { key: Buffer.from('/').toString('base64') });
  await post('/v3/kv/compaction', { revision: header.revision, physical: true });
}

/**
 * The real apiserver, except that right after the first page of the first list, `between`
 * runs and etcd is compacted: that list's continue token has expired when it is used.
 */
function expiringAfterFirstPage(between: () => Promise<void>) {
  const seen = { firstPages: 0, expired: 0 };
  const getJson: KubeClient['getJson'] = async (path, options) => {
    const first = !path.includes('continue=');
    if (first) seen.firstPages += 1;
    const page = await reader.getJson(path, options).catch((err: unknown) => {
      seen.expired += 1;
      throw err;
    });
    if (first && seen.firstPages === 1) {
      await between();
      await compactEtcd();
    }
    return page;
  };
  return { getJson, seen };
}

beforeAll(async () => {
  reader = createKubeReader((await loadKubeConfig('required', e2eCluster().kubeconfig))!);
  ns = await newNamespace('0relist');
  const pods = Array.from({ length: COUNT }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p${i}`, namespace: ns },
    spec: { containers: [{ name: 'app', image: image(i + 1) }] },
  }));
  await kubectlOk(kubectl, ['create', '-f', '-'], { input: pods.map((p) => stringify(p)).join('---\n') });
});

describe('the running-pod audit when its list`s continue token expires', () => {
  it('lists again from the start: every Pod judged once, a changed one again, deleted ones not reported', async () => {
    const { registry, verifier } = scriptedRegistry();
    const { getJson, seen } = expiringAfterFirstPage(async () => {
      await kubectlOk(kubectl, ['set', 'image', 'pod/p0', `app=${image(7)}`, '-n', ns]);
      await kubectlOk(kubectl, ['delete', 'pod', 'p1', 'p5', '-n', ns]);
    });
    const client = { getJson, call: reader.call };
    const logs: string[] = [];
    const audit = createPodAudit({
      client,
      informers: { namespaceLabels: () => ({}) },
      verifier,
      resolveTag: async () => {
        throw new Error('no tags here');
      },
      excludedNamespaces: ['kube-system'],
      logger: createLogger('info', new Writable({ write: (c, _e, done) => done(void logs.push(String(c))) })),
      metrics: { setRunningPodImages: () => {}, setAuditListingComplete: () => {} },
      pageSize: 2,
    });
    const scan = await audit.scan(imagePolicyStore(shopImagePolicy()).snapshot());
    expect(seen).toEqual({ firstPages: 2, expired: 1 });
    expect(logs.join('')).toContain('audit: list expired; listing again');
    expect(scan.complete).toBe(true);
    const mine = scan.findings.filter((f) => f.target.namespace === ns).map((f) => f.target.name);
    expect(mine).toEqual(['p0', 'p2', 'p3', 'p4']);
    expect(scan.findings.find((f) => f.target.name === 'p0')?.properties?.image).toBe(image(7));
    // p0 and p1 on the expired list's first page; p0 again, changed; p5 deleted before it was reached.
    const ours = new Set([1, 2, 3, 4, 5, 6, 7].map(digest));
    expect(registry.checked.filter((d) => ours.has(d))).toEqual([1, 2, 7, 3, 4, 5].map(digest));
  });
});

describe('the locked-object listing when its continue token expires', () => {
  const LABEL = 'relist-e2e.bulwark.dev/locked';

  it('lists again: a changed object judged again, a deleted one reported, the watch from the fresh list', async () => {
    const cmNs = await newNamespace('relist-cm');
    const items = ['c0', 'c1', 'c2', 'c3', 'c4'].map((name) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: cmNs, labels: { [LABEL]: 'true' } },
      data: { v: '1' },
    }));
    await kubectlOk(kubectl, ['create', '-f', '-'], { input: items.map((i) => stringify(i)).join('---\n') });
    const { getJson, seen } = expiringAfterFirstPage(async () => {
      await kubectlOk(kubectl, ['patch', 'cm', 'c0', '-n', cmNs, '-p', '{"data":{"v":"2"}}']);
      await kubectlOk(kubectl, ['delete', 'cm', 'c1', 'c4', '-n', cmNs]);
    });
    const handed: string[] = [];
    const vanished: string[] = [];
    const watchFrom: WatchStart[] = [];
    const { complete } = await listLockedObjects(
      { get: (path) => getJson(path, { timeoutMs: 30_000 }), logger: createLogger('silent'), pageSize: 2 },
      [CONFIGMAPS],
      `${LABEL}=true`,
      {
        onObject: async ({ target }, again) => void handed.push(`${target.name}${again ? ' again' : ''}`),
        onVanished: async (target) => void vanished.push(target.name),
      },
      watchFrom,
    );
    expect(seen).toEqual({ firstPages: 2, expired: 1 });
    expect(complete).toBe(true);
    expect(handed).toEqual(['c0', 'c1', 'c0 again', 'c2', 'c3']);
    expect(vanished).toEqual(['c1']);
    // The fresh list began after the change: the watch misses nothing that happened after it.
    const changed = JSON.parse(await kubectlOk(kubectl, ['get', 'cm', 'c0', '-n', cmNs, '-o', 'json'])) as {
      metadata: { resourceVersion: string };
    };
    expect(Number(watchFrom[0]!.resourceVersion)).toBeGreaterThanOrEqual(Number(changed.metadata.resourceVersion));
  });
});
