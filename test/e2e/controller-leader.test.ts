// Leader election for the controller loops, in-process against the real apiserver: of two
// replicas one holds the Lease and renews it, the other waits; once the holder stops renewing
// for longer than the lease, the other takes over. Time is the injected clock.

import { beforeAll, describe, expect, it } from 'vitest';
import { createKubeReader, loadKubeConfig, type KubeClient } from '../../src/cluster/kube-client.ts';
import { leaseLeader } from '../../src/cluster/leader.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { e2eCluster, newNamespace } from '../../harness/context.ts';

let client: KubeClient;
let namespace: string;
const logger = createLogger('silent');

beforeAll(async () => {
  client = createKubeReader((await loadKubeConfig('required', e2eCluster().kubeconfig))!);
  namespace = await newNamespace('leader');
});

describe('leaseLeader', () => {
  it('one of two replicas leads; the other takes over once the Lease is not renewed', async () => {
    let t = Date.parse('2026-11-29T06:00:00Z');
    const now = () => t;
    const replica = (identity: string) =>
      leaseLeader({ client, namespace, name: 'bulwark-controllers', identity, logger, leaseSeconds: 15, now });
    const a = replica('a');
    const b = replica('b');
    expect(await a.tryAcquire()).toBe(true);
    expect(await b.tryAcquire()).toBe(false);
    t += 10_000;
    expect(await a.tryAcquire()).toBe(true); // renewed
    t += 10_000;
    expect(await b.tryAcquire()).toBe(false); // 10 s since the renewal: still a's
    t += 6_000;
    expect(await b.tryAcquire()).toBe(true); // 16 s: expired, b takes over
    expect(await a.tryAcquire()).toBe(false);
    expect(a.isLeader()).toBe(false);
    const lease = (await client.getJson(
      `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/bulwark-controllers`,
      { timeoutMs: 5_000 },
    )) as { spec: { holderIdentity: string; leaseTransitions: number } };
    expect(lease.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 2 });
  });

  it('is not leader when the API cannot be written (fail safe: nobody acts twice)', async () => {
    const broken = leaseLeader({ client, namespace: 'no such namespace!', name: 'x', identity: 'c', logger });
    expect(await broken.tryAcquire()).toBe(false);
  });
});
