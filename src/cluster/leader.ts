// Leader election on a coordination.k8s.io Lease, so that with several replicas one of them
// runs the controller loops (UnlockRequest status and Events, notifications, the drift audit's
// seals and reports): writes are not repeated and Events not doubled. One Lease for them all.
// The holder renews the Lease; another replica takes it over once renewTime is older than
// leaseDurationSeconds. Each write carries the resourceVersion read, so of two replicas racing
// for an expired Lease exactly one wins (the other gets 409). Any error means "not leader":
// a replica that cannot renew stops acting before another can take over.

import { hostname } from 'node:os';
import type { KubeClient } from './kube-client.ts';
import type { Logger } from '../observability/logger.ts';

/** The one Lease of Bulwark's controller loops, in Bulwark's namespace. */
export const LEASE_NAME = 'bulwark-controllers';

/** The pod's name (downward API) where there is one; unique per process besides. */
export const defaultIdentity = () => `${process.env.POD_NAME || hostname()}-${process.pid}`;

export interface LeaderElector {
  isLeader(): boolean;
  /** One round: acquire or renew; resolves whether this replica leads now. */
  tryAcquire(): Promise<boolean>;
  /** Renews every `renewEveryMs` until stopped. */
  start(): void;
  stop(): void;
}

export interface LeaseOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  logger: Logger;
  leaseSeconds?: number;
  renewEveryMs?: number;
  now?: () => number;
}

interface Lease {
  metadata?: { resourceVersion?: string };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string; leaseTransitions?: number };
}

const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export function leaseLeader(options: LeaseOptions): LeaderElector {
  const { client, namespace, name, identity, logger } = options;
  const leaseSeconds = options.leaseSeconds ?? 15;
  const now = options.now ?? Date.now;
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const path = `${collection}/${encodeURIComponent(name)}`;
  let leader = false;
  let timer: NodeJS.Timeout | undefined;

  const spec = (previous: Lease['spec'], t: number) => ({
    holderIdentity: identity,
    leaseDurationSeconds: leaseSeconds,
    renewTime: microTime(t),
    acquireTime: previous?.holderIdentity === identity ? undefined : microTime(t),
    leaseTransitions: (previous?.leaseTransitions ?? 0) + (previous?.holderIdentity === identity ? 0 : 1),
  });

  async function round(): Promise<boolean> {
    const t = now();
    const current = await client.call('GET', path, { timeoutMs: 5_000 });
    if (current.status === 404) {
      const body = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name },
        spec: spec(undefined, t),
      };
      const res = await client.call('POST', collection, { body: JSON.stringify(body), timeoutMs: 5_000 });
      return res.status === 201;
    }
    if (current.status !== 200) return false;
    const lease = current.body as Lease;
    const holder = lease.spec?.holderIdentity;
    const renewed = Date.parse(lease.spec?.renewTime ?? '');
    const duration = (lease.spec?.leaseDurationSeconds ?? leaseSeconds) * 1000;
    const free = !holder || !Number.isFinite(renewed) || t > renewed + duration;
    if (holder !== identity && !free) return false;
    const next = { ...lease, spec: { ...lease.spec, ...JSON.parse(JSON.stringify(spec(lease.spec, t))) } };
    const res = await client.call('PUT', path, { body: JSON.stringify(next), timeoutMs: 5_000 });
    return res.status === 200;
  }

  const elector: LeaderElector = {
    isLeader: () => leader,
    async tryAcquire() {
      const was = leader;
      try {
        leader = await round();
      } catch (err) {
        leader = false;
        logger.warn({ lease: `${namespace}/${name}`, err: (err as Error).message }, 'leader election failed');
      }
      if (leader !== was) logger.info({ lease: `${namespace}/${name}`, identity, leader }, 'leadership changed');
      return leader;
    },
    start() {
      const tick = () => {
        void elector.tryAcquire().finally(() => {
          if (timer !== undefined) timer = setTimeout(tick, options.renewEveryMs ?? 5_000);
        });
      };
      timer = setTimeout(tick, 0);
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
      leader = false;
    },
  };
  return elector;
}
