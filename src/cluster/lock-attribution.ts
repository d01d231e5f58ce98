// Records who locked an object, when this replica admits the lock (attestation/attribution.ts):
// one LockAttribution in Bulwark's namespace, named after the request's uid (so the same
// request reaching two webhook entries, or retried, makes one record), written before the
// answer goes back, so it exists before the object does. A dry run stores nothing, so it
// records nothing (sideEffects NoneOnDryRun). Locking is the safe direction: a failed
// write never denies the lock; it is logged and counted, and the seal will say that it
// has no author and why.

import type { AdmissionRequest } from '../admission/types.ts';
import { ATTRIBUTION_KIND, attributionOf, attributionsPath, signAttribution } from '../attestation/attribution.ts';
import type { AttestationKeyRing } from '../attestation/keys.ts';
import type { Verdict } from '../decision/verdict.ts';
import { messageOf } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { LockLabel } from '../policy/compiled.ts';
import type { KubeClient } from './kube-client.ts';

export interface AttributionRecorderOptions {
  client: Pick<KubeClient, 'call'>;
  namespace: string;
  keys: () => AttestationKeyRing | undefined;
  lockLabel: () => LockLabel;
  logger: Logger;
  /** Counts a record that could not be written, by why. */
  onFailure: (why: 'no-key' | 'write-failed') => void;
  /** Short: the request waits for it. */
  timeoutMs: number;
  now?: () => number;
}

export type AdmittedHook = (request: AdmissionRequest, verdict: Verdict) => Promise<void>;

export function createAttributionRecorder(options: AttributionRecorderOptions): AdmittedHook {
  const { client, namespace, logger } = options;
  const now = options.now ?? Date.now;
  const path = attributionsPath(namespace);
  return async (request, verdict) => {
    if (!verdict.allowed || request.dryRun === true) return;
    const record = attributionOf(request, options.lockLabel(), new Date(now()).toISOString());
    if (!record) return;
    const { kind, namespace: where, name } = record.target;
    const object = `${kind} ${where ? `${where}/` : ''}${name}`;
    const ring = options.keys();
    if (!ring) {
      options.onFailure('no-key');
      logger.warn({ uid: request.uid, object }, 'cannot record who locked it: no attestation key yet');
      return;
    }
    const body = {
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: ATTRIBUTION_KIND,
      metadata: { name: request.uid, namespace },
      spec: signAttribution(ring, record),
    };
    try {
      const r = await client.call('POST', path, { body: JSON.stringify(body), timeoutMs: options.timeoutMs });
      // 409: this request was recorded already (another entry, or a retry).
      if (r.status < 300 || r.status === 409) return;
      const message = (r.body as { message?: string } | undefined)?.message ?? '';
      throw new Error(`HTTP ${r.status} ${message}`.trim());
    } catch (err) {
      options.onFailure('write-failed');
      logger.warn({ uid: request.uid, object, err: messageOf(err) }, 'cannot record who locked it; the lock stands');
    }
  };
}
