// Starts Bulwark's controller loops behind one leader election: the UnlockRequest status
// loop. The Lease lives in Bulwark's namespace (BULWARK_NAMESPACE, set by the chart from the
// downward API; `default` when Bulwark runs outside a cluster), one holder per namespace.

import { hostname } from 'node:os';
import type { Discovery } from '../cluster/discovery.ts';
import type { KubeClient } from '../cluster/kube-client.ts';
import type { ClusterInformers } from '../cluster/policy-informers.ts';
import type { Logger } from '../observability/logger.ts';
import type { PolicyCompiler } from '../policy/compiler.ts';
import type { PolicyStore } from '../policy/store.ts';
import { eventRecorder } from './events.ts';
import { leaseLeader } from './leader.ts';
import { unlockStatusLoop } from './unlock-status.ts';

export const STATUS_INTERVAL_MS = 5_000;
export const LEASE_NAME = 'bulwark-controllers';

/** Returns a function that stops them. */
export function startControllers(options: {
  client: KubeClient;
  discovery: Discovery;
  compiler: PolicyCompiler;
  store: PolicyStore;
  informers: Pick<ClusterInformers, 'namespaceLabels'>;
  logger: Logger;
}): () => void {
  const { client, logger } = options;
  const leader = leaseLeader({
    client,
    namespace: process.env.BULWARK_NAMESPACE || 'default',
    name: LEASE_NAME,
    identity: process.env.POD_NAME || `${hostname()}-${process.pid}`,
    logger,
  });
  const loop = unlockStatusLoop({
    client,
    discovery: options.discovery,
    compiler: options.compiler,
    snapshot: () => options.store.snapshot(),
    namespaceLabels: (ns) => options.informers.namespaceLabels(ns),
    // Until the policies are read, a phase computed under the built-in default would be wrong.
    isLeader: () => leader.isLeader() && options.store.pending().length === 0,
    recordEvent: eventRecorder({ client, logger }),
    logger,
  });
  leader.start();
  loop.start(STATUS_INTERVAL_MS);
  return () => {
    loop.stop();
    leader.stop();
  };
}
