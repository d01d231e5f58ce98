// Writes one record from the admission path (who locked what, what changed under an unlock):
// a POST into Bulwark's namespace named after the request uid, signed with Bulwark's newest
// key, within a short time budget (the request waits for it). 409 means this request was
// recorded already: the same request reaching two webhook entries, or a retry. A record that
// cannot be written (no key yet, or the write failed) never changes the decision: it is
// counted and logged, and the reader of the records says what its absence means.

import type { AttestationKeyRing } from '../attestation/keys.ts';
import { messageOf } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { KubeClient } from './kube-client.ts';

export interface RecordWriterOptions {
  client: Pick<KubeClient, 'call'>;
  namespace: string;
  keys: () => AttestationKeyRing | undefined;
  logger: Logger;
  /** Counts a record that could not be written, by why. */
  onFailure: (why: 'no-key' | 'write-failed') => void;
  /** Short: the request waits for it. */
  timeoutMs: number;
}

export interface RecordToWrite {
  requestUid: string;
  /** The object the record is about, for the logs. */
  target: { kind: string; namespace?: string; name: string };
  /** The collection to POST to, and the kind of the record. */
  path: string;
  kind: string;
  /** The record's spec, signed with `ring`. */
  sign: (ring: AttestationKeyRing) => unknown;
  /** What the record says, and what its absence means, for the warnings: "who locked it", "the lock stands". */
  what: string;
  without: string;
}

export async function writeRecord(options: RecordWriterOptions, record: RecordToWrite): Promise<void> {
  const { kind, namespace: where, name } = record.target;
  const object = `${kind} ${where ? `${where}/` : ''}${name}`;
  const ring = options.keys();
  if (!ring) {
    options.onFailure('no-key');
    options.logger.warn({ uid: record.requestUid, object }, `cannot record ${record.what}: no attestation key yet`);
    return;
  }
  const body = {
    apiVersion: 'bulwark.dev/v1alpha1',
    kind: record.kind,
    metadata: { name: record.requestUid, namespace: options.namespace },
    spec: record.sign(ring),
  };
  try {
    const r = await options.client.call('POST', record.path, {
      body: JSON.stringify(body),
      timeoutMs: options.timeoutMs,
    });
    if (r.status < 300 || r.status === 409) return;
    const message = (r.body as { message?: string } | undefined)?.message ?? '';
    throw new Error(`HTTP ${r.status} ${message}`.trim());
  } catch (err) {
    options.onFailure('write-failed');
    options.logger.warn(
      { uid: record.requestUid, object, err: messageOf(err) },
      `cannot record ${record.what}; ${record.without}`,
    );
  }
}
