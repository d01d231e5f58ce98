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

/**
 * What this replica knows of the Lease: it leads; another holder renews it (following); or it
 * cannot read or write the Lease (failing: refused, unreachable). When no replica leads, the
 * loops are paused: the metric bulwark_controller_lease says so (main.ts), never silence.
 */
export type LeaseState = 'leading' | 'following' | 'failing';

export interface LeaderElector {
  isLeader(): boolean;
  state(): LeaseState;
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
  let state: LeaseState = 'following';
  let timer: NodeJS.Timeout | undefined;

  const spec = (previous: Lease['spec'], t: number) => ({
    holderIdentity: identity,
    leaseDurationSeconds: leaseSeconds,
    renewTime: microTime(t),
    acquireTime: previous?.holderIdentity === identity ? undefined : microTime(t),
    leaseTransitions: (previous?.leaseTransitions ?? 0) + (previous?.holderIdentity === identity ? 0 : 1),
  });

  /** 409: another replica wrote first (it leads); anything else but success: this one cannot. */
  const outcome = (res: { status: number; body: unknown }, ok: number): { state: LeaseState; problem?: string } =>
    res.status === ok
      ? { state: 'leading' }
      : res.status === 409
        ? { state: 'following' }
        : { state: 'failing', problem: `HTTP ${res.status}: ${(res.body as { message?: string })?.message ?? ''}` };

  async function round(): Promise<{ state: LeaseState; problem?: string }> {
    const t = now();
    const current = await client.call('GET', path, { timeoutMs: 5_000 });
    if (current.status === 404) {
      const body = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name },
        spec: spec(undefined, t),
      };
      return outcome(await client.call('POST', collection, { body: JSON.stringify(body), timeoutMs: 5_000 }), 201);
    }
    if (current.status !== 200) return outcome(current, 200);
    const lease = current.body as Lease;
    const holder = lease.spec?.holderIdentity;
    const renewed = Date.parse(lease.spec?.renewTime ?? '');
    const duration = (lease.spec?.leaseDurationSeconds ?? leaseSeconds) * 1000;
    const free = !holder || !Number.isFinite(renewed) || t > renewed + duration;
    if (holder !== identity && !free) return { state: 'following' };
    const next = { ...lease, spec: { ...lease.spec, ...JSON.parse(JSON.stringify(spec(lease.spec, t))) } };
    return outcome(await client.call('PUT', path, { body: JSON.stringify(next), timeoutMs: 5_000 }), 200);
  }

  const elector: LeaderElector = {
    isLeader: () => leader,
    state: () => state,
    async tryAcquire() {
      const was = leader;
      const before = state;
      let result: { state: LeaseState; problem?: string };
      try {
        result = await round();
      } catch (err) {
        result = { state: 'failing', problem: (err as Error).message };
      }
      state = result.state;
      leader = state === 'leading';
      if (leader !== was) logger.info({ lease: `${namespace}/${name}`, identity, leader }, 'leadership changed');
      if (state === 'failing' && before !== 'failing')
        logger.error(
          { lease: `${namespace}/${name}`, identity, problem: result.problem },
          'cannot read or write the Lease: this replica runs no loops (status, seals, drift audit); ' +
            'while no replica can, they are paused (metric bulwark_controller_lease)',
        );
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
      state = 'following';
    },
  };
  return elector;
}
