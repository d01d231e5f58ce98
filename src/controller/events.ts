// Kubernetes Events (core/v1) recorded by Bulwark's controller loops: what `kubectl describe`
// and `kubectl get events` show on an UnlockRequest and on its target. A cluster-scoped
// object's Events go to the `default` namespace, where kubectl looks for them. Recording is
// best effort: a failed Event is logged, never retried in a loop.

import { randomBytes } from 'node:crypto';
import type { KubeClient } from '../cluster/kube-client.ts';
import type { Logger } from '../observability/logger.ts';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

export interface EventNote {
  involved: InvolvedObject;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export type RecordEvent = (note: EventNote) => Promise<void>;

const MAX_MESSAGE = 1024;

export function eventRecorder(options: { client: KubeClient; logger: Logger; now?: () => number }): RecordEvent {
  const { client, logger } = options;
  const now = options.now ?? Date.now;
  return async ({ involved, type, reason, message }) => {
    const namespace = involved.namespace ?? 'default';
    const time = new Date(now()).toISOString().replace(/\.\d+Z$/, 'Z');
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${involved.name}.${randomBytes(8).toString('hex')}`.slice(0, 253), namespace },
      involvedObject: involved,
      type,
      reason,
      message: message.slice(0, MAX_MESSAGE),
      source: { component: 'bulwark' },
      reportingComponent: 'bulwark',
      reportingInstance: 'bulwark',
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    };
    try {
      const res = await client.call('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, {
        body: JSON.stringify(body),
        timeoutMs: 5_000,
      });
      if (res.status !== 201) logger.warn({ reason, status: res.status, body: res.body }, 'could not record an Event');
    } catch (err) {
      logger.warn({ reason, err: (err as Error).message }, 'could not record an Event');
    }
  };
}
