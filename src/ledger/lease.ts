// Leader election among Bulwark's replicas with a coordination.k8s.io/v1 Lease, so that
// exactly one writes seals and reports. client-node has no helper for it; this is the
// client-go recipe in small: take the Lease when it is absent or expired, renew it while
// leading, and rely on resourceVersion (optimistic concurrency) so two replicas can never
// both win the same takeover.

import type { KubeClient } from '../cluster/kube-client.ts';
import type { Logger } from '../observability/logger.ts';

export interface LeaseOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  logger: Logger;
  leaseSeconds?: number;
  now?: () => Date;
}

interface LeaseObject {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string; acquireTime?: string };
}

const micro = (d: Date) => d.toISOString().replace(/Z$/, '000Z');

/** Tries once to be (or stay) the leader; true when this replica holds the Lease now. */
export async function tryLead(options: LeaseOptions): Promise<boolean> {
  const { client, namespace, name, identity } = options;
  const leaseSeconds = options.leaseSeconds ?? 15;
  const now = (options.now ?? (() => new Date()))();
  const path = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
  const timeoutMs = 5_000;
  const spec = { holderIdentity: identity, leaseDurationSeconds: leaseSeconds, renewTime: micro(now) };
  const current = (await client.getJson(`${path}/${name}`, { timeoutMs })) as LeaseObject | undefined;
  if (!current) {
    const body = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace } };
    const r = await client.call('POST', path, {
      body: JSON.stringify({ ...body, spec: { ...spec, acquireTime: micro(now) } }),
      timeoutMs,
    });
    return r.status === 201;
  }
  const held = current.spec.holderIdentity;
  const renewed = Date.parse(current.spec.renewTime ?? '');
  const expired =
    !held || !Number.isFinite(renewed) || renewed + (current.spec.leaseDurationSeconds ?? leaseSeconds) * 1000 < +now;
  if (held !== identity && !expired) return false;
  const next = {
    ...current,
    spec: { ...current.spec, ...spec, ...(held !== identity ? { acquireTime: micro(now) } : {}) },
  };
  // PUT with the resourceVersion read: a replica that raced us gets 409 and stays a follower.
  const r = await client.call('PUT', `${path}/${name}`, { body: JSON.stringify(next), timeoutMs });
  if (r.status === 200 && held !== identity) options.logger.info({ lease: name, identity }, 'became the leader');
  return r.status === 200;
}
