// The running-pod audit (ledger/running-pods.ts) against a scripted API and admission's own
// verification cache over a scripted registry: every Pod not terminated, in every namespace
// Bulwark is sent, is judged; `fail` results get a Warning Event once and leave the findings
// when the Pod passes again or is gone; a registry that fails is `error`, never a pass; the
// registry rounds of a scan are bounded (count, concurrency) and what is past the bound is
// deferred with the Pod's last findings kept, not guessed. A list whose continue token expires
// (410) is listed again without judging an unchanged Pod twice; one that keeps expiring makes
// the scan incomplete (warn, gauge) and leaves the Pods it did not reach their last findings.
// (The real apiserver: test/e2e/running-pods.test.ts, test/e2e/audit-relist.test.ts.)

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/admission/types.ts';
import type { CallResult } from '../../../src/cluster/kube-client.ts';
import { BaseError } from '../../../src/errors.ts';
import { createPodAudit, IMAGE_EVENT_REASON, type PodAuditLimits } from '../../../src/ledger/running-pods.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { digest, scriptedRegistry } from '../../helpers/scripted-registry.ts';
import { shopImagePolicy } from '../../helpers/policies.ts';
import { imagePolicyStore } from '../../helpers/snapshots.ts';

const image = (n: number) => `registry.local:5000/shop/app${n}@${digest(n)}`;

function pod(namespace: string, name: string, images: string[], phase = 'Running'): KubeObject {
  const captured = structuredClone(loadReview('pod-create').request.object!) as KubeObject & { spec: object };
  return {
    ...captured,
    metadata: { ...captured.metadata, namespace, name, uid: `uid-${namespace}-${name}` },
    spec: { ...captured.spec, containers: images.map((im, i) => ({ name: `c${i}`, image: im })) },
    status: { phase },
  } as KubeObject;
}

const gone = () => new BaseError('KUBE_API_ERROR', 'continue too old', { upstream: { status: 410 } });

/**
 * The apiserver: pods served in pages of `pageSize`, Events recorded. With `expire`, the n-th
 * fresh list's continue token expires (410) once `expire[n]` of its pages were served, and
 * `onExpire` may change the pods meanwhile.
 */
function scriptedApi(pods: KubeObject[], pageSize = 2) {
  let attempt = -1;
  const api = {
    pods,
    lists: [] as string[],
    expire: [] as (number | undefined)[],
    onExpire: () => {},
    events: [] as { namespace: string; reason: string; message: string; uid: string }[],
    getJson: async (path: string) => {
      api.lists.push(path);
      const from = Number(/continue=(\d+)/.exec(path)?.[1] ?? 0);
      if (from === 0) attempt += 1;
      const expiry = api.expire[attempt];
      if (expiry !== undefined && from / pageSize >= expiry) {
        api.onExpire();
        throw gone();
      }
      const next = from + pageSize < api.pods.length ? String(from + pageSize) : undefined;
      return { items: api.pods.slice(from, from + pageSize), metadata: next ? { continue: next } : {} };
    },
    call: async (method: string, path: string, o: { body?: string }): Promise<CallResult> => {
      const body = JSON.parse(o.body ?? '{}');
      if (method === 'POST' && path.endsWith('/events'))
        api.events.push({
          namespace: body.metadata.namespace,
          reason: body.reason,
          message: body.message,
          uid: body.involvedObject.uid,
        });
      return { status: 201, body };
    },
  };
  return api;
}

const storeWith = imagePolicyStore;

const shop = () => storeWith(shopImagePolicy());

function setup(pods: KubeObject[], limits: Partial<PodAuditLimits> = {}) {
  const api = scriptedApi(pods);
  const { registry, verifier } = scriptedRegistry();
  const gauges: Record<string, number>[] = [];
  const listings: boolean[] = [];
  const logs: { level: number; msg: string }[] = [];
  const audit = createPodAudit({
    client: api,
    informers: { namespaceLabels: () => ({}) },
    verifier,
    resolveTag: async () => {
      throw new Error('no tags here');
    },
    excludedNamespaces: ['kube-system', 'bulwark-system', 'cert-manager'],
    logger: createLogger(
      'warn',
      new Writable({
        write: (chunk, _e, done) => {
          logs.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    ),
    metrics: {
      setRunningPodImages: (g) => gauges.push({ ...g }),
      setAuditListingComplete: (listing, complete) => {
        if (listing === 'running-pods') listings.push(complete);
      },
    },
    limits,
  });
  return { api, registry, audit, gauges, listings, logs };
}

describe('running Pods whose images no longer pass', () => {
  it('judges every Pod not terminated, in namespaces Bulwark is sent, through every page of the list', async () => {
    const pods = [
      pod('shop', 'a', [image(1)]),
      pod('shop', 'b', [image(2)]),
      pod('kube-system', 'c', [image(3)]),
      pod('cert-manager', 'd', [image(3)]),
      pod('shop', 'e', [image(4)], 'Succeeded'),
      pod('web', 'f', [image(5)]),
    ];
    const { api, audit, gauges } = setup(pods);
    const scan = await audit.scan(shop().snapshot());
    expect(api.lists[0]).toContain(
      `fieldSelector=${encodeURIComponent('status.phase!=Succeeded,status.phase!=Failed')}`,
    );
    expect(api.lists).toHaveLength(3);
    expect(scan.findings.map((f) => f.target.name)).toEqual(['a', 'b', 'f']);
    expect(scan.findings[0]).toMatchObject({
      policy: 'bulwark-images',
      reason: 'shop',
      result: 'fail',
      target: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'a', uid: 'uid-shop-a' },
      properties: { image: image(1), field: 'spec.containers[0].image', imagePolicies: 'shop' },
    });
    expect(scan.findings[0]!.message).toContain('is signed, but by a key the policy does not trust');
    expect(gauges.at(-1)).toEqual({ fail: 3, error: 0, warn: 0 });
  });

  it('a failing Pod gets one Warning Event; passing again, it leaves the findings', async () => {
    const { api, registry, audit, gauges } = setup([pod('shop', 'a', [image(1)])]);
    await audit.scan(shop().snapshot());
    await audit.scan(shop().snapshot());
    expect(api.events).toEqual([
      {
        namespace: 'shop',
        reason: IMAGE_EVENT_REASON,
        uid: 'uid-shop-a',
        message: expect.stringContaining('Pod shop/a runs an image that no longer passes the ImagePolicies in force'),
      },
    ]);
    registry.trusted.add(digest(1));
    expect((await audit.scan(shop().snapshot())).findings).toEqual([]);
    expect(audit.findings()).toEqual([]);
    expect(gauges.at(-1)).toEqual({ fail: 0, error: 0, warn: 0 });
  });

  it('a Pod that is gone leaves the findings; with no ImagePolicy at all, no Pod is even listed', async () => {
    const { api, audit } = setup([pod('shop', 'a', [image(1)]), pod('shop', 'b', [image(2)])]);
    await audit.scan(shop().snapshot());
    api.pods = api.pods.slice(1);
    expect((await audit.scan(shop().snapshot())).findings.map((f) => f.target.name)).toEqual(['b']);
    const lists = api.lists.length;
    expect((await audit.scan(storeWith().snapshot())).findings).toEqual([]);
    expect(api.lists).toHaveLength(lists);
  });

  it('an unreachable registry makes the result `error`, with no Event; retried at the next scan', async () => {
    const { api, registry, audit, gauges } = setup([pod('shop', 'a', [image(1)])]);
    registry.trusted.add(digest(1));
    registry.down = true;
    const scan = await audit.scan(shop().snapshot());
    expect(scan.findings).toEqual([expect.objectContaining({ result: 'error' })]);
    expect(scan.findings[0]!.message).toContain('could not be verified: the registry failed');
    expect(api.events).toEqual([]);
    expect(gauges.at(-1)).toEqual({ fail: 0, error: 1, warn: 0 });
    registry.down = false;
    expect((await audit.scan(shop().snapshot())).findings).toEqual([]);
  });

  it('bounds registry rounds per scan: the rest is deferred, keeps its last findings, is judged later', async () => {
    const pods = Array.from({ length: 6 }, (_, i) => pod('shop', `p${i}`, [image(i + 1)]));
    const { registry, audit } = setup(pods, { lookupsPerScan: 2, concurrency: 2 });
    const first = await audit.scan(shop().snapshot());
    expect(first).toMatchObject({ pods: 6, judged: 2, deferred: 4, lookups: 2 });
    expect(registry.rounds).toBe(2);
    expect(first.findings.map((f) => f.target.name)).toEqual(['p0', 'p1']);
    // p0 and p1 keep failing (a failure is not cached here, so each judgement is a registry round): they
    // must not take the whole budget of every scan. The deferred go first; every pod is judged in turn.
    for (let i = 3; i <= 6; i++) registry.trusted.add(digest(i));
    const checked = new Set<string>();
    for (let scan = 0; scan < 3; scan++) {
      const before = registry.checked.length;
      const next = await audit.scan(shop().snapshot());
      expect(next.lookups).toBeLessThanOrEqual(2);
      for (const d of registry.checked.slice(before)) checked.add(d);
      // Deferred or judged again, the failing pods stay reported; the others never were.
      expect(next.findings.map((f) => f.target.name)).toEqual(['p0', 'p1']);
    }
    expect(checked).toEqual(new Set([3, 4, 5, 6, 1, 2].map(digest)));
    const settled = await audit.scan(shop().snapshot());
    expect(settled).toMatchObject({ judged: 6, deferred: 0, lookups: 2 });
  });

  it('the first scan judges every Pod when their images fit the budget (Pods share images)', async () => {
    const pods = Array.from({ length: 30 }, (_, i) => pod('shop', `p${i}`, [image(1 + (i % 3))]));
    const { registry, audit } = setup(pods, { lookupsPerScan: 5, concurrency: 2 });
    for (let i = 1; i <= 3; i++) registry.trusted.add(digest(i));
    expect(await audit.scan(shop().snapshot())).toMatchObject({ pods: 30, judged: 30, deferred: 0, lookups: 3 });
  });

  it('shares one registry round per digest across Pods, at most `concurrency` at once', async () => {
    const pods = Array.from({ length: 40 }, (_, i) => pod('shop', `p${i}`, [image(1 + (i % 8))]));
    const { registry, audit } = setup(pods, { concurrency: 3 });
    for (let i = 1; i <= 8; i++) registry.trusted.add(digest(i));
    const scan = await audit.scan(shop().snapshot());
    expect(scan).toMatchObject({ pods: 40, judged: 40, deferred: 0 });
    expect(registry.rounds).toBe(8);
    expect(registry.maxActive).toBeLessThanOrEqual(3);
    expect((await audit.scan(shop().snapshot())).lookups).toBe(0);
  });
});

describe('running Pods listed again when the list`s continue token expires (410 Gone)', () => {
  const withVersion = (p: KubeObject, resourceVersion: string): KubeObject =>
    ({ ...p, metadata: { ...p.metadata, resourceVersion } }) as KubeObject;

  it('lists again from the start: every Pod judged once, a changed one again, a vanished one leaves', async () => {
    const pods = ['a', 'b', 'c', 'd', 'e'].map((n, i) => withVersion(pod('shop', n, [image(i + 1)]), '1'));
    const { api, registry, audit, listings } = setup(pods);
    registry.trusted.add(digest(2));
    // After the first page (a, b): b is changed to an image that fails, a is deleted, f is created.
    api.expire = [1];
    api.onExpire = () => {
      api.pods = [
        withVersion(pod('shop', 'b', [image(9)]), '2'),
        ...pods.slice(2),
        withVersion(pod('shop', 'f', [image(2)]), '1'),
      ];
    };
    const scan = await audit.scan(shop().snapshot());
    expect(api.lists).toHaveLength(1 + 1 + 3);
    expect(scan).toMatchObject({ pods: 5, judged: 5, deferred: 0, complete: true });
    // a, b (image 2, passes), then b again (image 9), c, d, e, f: a is gone, b fails now, f passes.
    expect(registry.checked).toEqual([1, 2, 9, 3, 4, 5].map(digest));
    expect(scan.findings.map((f) => f.target.name)).toEqual(['b', 'c', 'd', 'e']);
    expect(scan.findings[0]!.properties?.image).toBe(image(9));
    expect(listings).toEqual([true]);
  });

  it('a list that keeps expiring is reported incomplete; Pods it did not reach keep their last findings', async () => {
    const pods = ['a', 'b', 'c', 'd'].map((n, i) => withVersion(pod('shop', n, [image(i + 1)]), '1'));
    const { api, registry, audit, listings, logs } = setup(pods);
    await audit.scan(shop().snapshot());
    // Every image passes now, but only the first page (a, b) is ever read: c and d are not concluded on.
    for (let i = 1; i <= 4; i++) registry.trusted.add(digest(i));
    api.expire = [undefined, 1, 1, 1, 1];
    const scan = await audit.scan(shop().snapshot());
    expect(scan).toMatchObject({ complete: false });
    expect(scan.findings.map((f) => f.target.name)).toEqual(['c', 'd']);
    expect(audit.findings().map((f) => f.target.name)).toEqual(['c', 'd']);
    expect(listings).toEqual([true, false]);
    expect(logs).toContainEqual(expect.objectContaining({ level: 40, msg: expect.stringContaining('running Pods') }));
    // The next scan that lists to the end concludes again.
    api.expire = [];
    expect(await audit.scan(shop().snapshot())).toMatchObject({ findings: [], complete: true });
    expect(listings).toEqual([true, false, true]);
  });
});
