// Starts Bulwark's controller loops: the UnlockRequest status loop, run only by the replica
// that holds the Lease (cluster/leader.ts, shared with the drift audit), and the optional
// outgoing notifications of its transitions (notify.ts).

import type { Discovery } from '../cluster/discovery.ts';
import type { KubeClient } from '../cluster/kube-client.ts';
import type { LeaderElector } from '../cluster/leader.ts';
import type { ClusterInformers } from '../cluster/policy-informers.ts';
import type { Logger } from '../observability/logger.ts';
import type { PolicyCompiler } from '../policy/compiler.ts';
import type { PolicyStore } from '../policy/store.ts';
import { decodeSecret } from '../cluster/secrets.ts';
import type { Metrics } from '../observability/metrics.ts';
import { eventRecorder } from './events.ts';
import { createNotifier, type NotificationSecret, type Notifier } from './notify.ts';
import { unlockStatusLoop, type Transition } from './unlock-status.ts';
import type { EventNote } from './events.ts';

export const STATUS_INTERVAL_MS = 5_000;

/** Returns a function that stops them. */
export function startControllers(options: {
  client: KubeClient;
  discovery: Discovery;
  compiler: PolicyCompiler;
  store: PolicyStore;
  informers: Pick<ClusterInformers, 'namespaceLabels'>;
  leader: LeaderElector;
  logger: Logger;
  metrics: Metrics;
  /** The outgoing notification webhook, and the Secret (in `namespace`) with its token or HMAC key. */
  notify?: { url: string; secret?: string; namespace: string };
}): () => void {
  const { client, logger, leader } = options;
  const notifier = options.notify && notifierFor(options.notify, client, options);
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
    ...(notifier ? { onTransition: (t, event) => notifier.notify(notificationOf(t, event)) } : {}),
  });
  loop.start(STATUS_INTERVAL_MS);
  return () => {
    loop.stop();
    notifier?.stop();
  };
}

function notifierFor(
  notify: { url: string; secret?: string; namespace: string },
  client: KubeClient,
  o: { logger: Logger; metrics: Metrics },
): Notifier {
  const { secret, namespace } = notify;
  const read = async (): Promise<NotificationSecret> => {
    const ref = { namespace, name: secret! };
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(ref.name)}`;
    const found = await client.getJson(path, { timeoutMs: 5_000 });
    if (found === undefined) throw new Error(`the Secret ${namespace}/${ref.name} does not exist`);
    const data = decodeSecret(found, ref).data;
    const token = data.get('token')?.toString('utf8').trim();
    const hmacKey = data.get('hmac-key')?.toString('utf8').trim();
    return { ...(token ? { token } : {}), ...(hmacKey ? { hmacKey } : {}) };
  };
  return createNotifier({
    url: notify.url,
    ...(secret ? { secret: read } : {}),
    logger: o.logger,
    onOutcome: (outcome) => o.metrics.observeNotification(outcome),
  });
}

/** The JSON a receiver gets: the Event's words, and the request's facts for a bot to act on. */
export function notificationOf(t: Transition, event: Omit<EventNote, 'involved'>): Record<string, unknown> {
  const { unlock, status } = t;
  return {
    kind: 'UnlockRequestTransition',
    apiVersion: 'bulwark.dev/v1alpha1',
    reason: event.reason,
    type: event.type,
    message: event.message,
    unlockRequest: {
      kind: unlock.kind,
      name: unlock.name,
      ...(unlock.namespace ? { namespace: unlock.namespace } : {}),
      ...(t.uid ? { uid: t.uid } : {}),
    },
    from: t.from ?? null,
    phase: status.phase,
    target: { apiVersion: t.targetApiVersion, ...unlock.target },
    operations: [...unlock.operations],
    requester: unlock.requester,
    ...(unlock.ticket ? { ticket: unlock.ticket } : {}),
    emergency: unlock.emergency,
    approvals: status.approvals,
    expiresAt: status.expiresAt,
    allows: status.allows,
    ...(status.violation ? { violation: status.violation } : {}),
  };
}
