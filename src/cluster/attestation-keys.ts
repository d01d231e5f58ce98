// Bulwark's attestation keys, from a Secret in its own namespace. At first start the
// Secret is created with one fresh key; replicas starting together agree without a
// leader because creation is atomic: whoever loses gets 409 and reads the winner's. The
// Secret is re-read periodically so a rotation reaches every replica; a failed read keeps
// the keys in hand. Key bytes are never logged, only ids.

import { randomBytes } from 'node:crypto';
import { keyRingOf, type AttestationKeyRing } from '../attestation/keys.ts';
import { BaseError, messageOf } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { KubeClient } from './kube-client.ts';

/** A key id: its creation time (so ids sort by age), then randomness. */
export const KEY_ID = /^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6,}$/;
const MIN_KEY_BYTES = 32;

export function newKeyId(now: Date): string {
  const time = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.[0-9]+Z$/, 'Z');
  return `${time}-${randomBytes(3).toString('hex')}`;
}

/** The key ring a Secret's data holds: every entry named like a key id, of at least 32 bytes. */
export function keyRingFromSecret(secret: unknown): AttestationKeyRing | undefined {
  const data = (secret as { data?: Record<string, string> } | undefined)?.data ?? {};
  const keys = new Map<string, Uint8Array>();
  for (const [id, value] of Object.entries(data)) {
    const bytes = Buffer.from(value, 'base64');
    if (KEY_ID.test(id) && bytes.length >= MIN_KEY_BYTES) keys.set(id, bytes);
  }
  return keyRingOf(keys);
}

export interface AttestationKeyOptions {
  client: KubeClient;
  namespace: string;
  secretName: string;
  logger: Logger;
  onKeys: (ring: AttestationKeyRing) => void;
  timeoutMs?: number;
  refreshMs?: number;
}

export interface AttestationKeySource {
  /** Reads (or creates) the keys, then keeps re-reading them; resolves after the first read. */
  start(): Promise<void>;
  stop(): void;
}

export function attestationKeySource(options: AttestationKeyOptions): AttestationKeySource {
  const { client, namespace, secretName, logger } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const path = `/api/v1/namespaces/${namespace}/secrets`;
  let timer: NodeJS.Timeout | undefined;
  let current = '';
  let stopped = false;

  async function create(): Promise<void> {
    const id = newKeyId(new Date());
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: secretName,
        namespace,
        labels: { 'app.kubernetes.io/name': 'bulwark', 'app.kubernetes.io/component': 'attestation-keys' },
      },
      type: 'Opaque',
      data: { [id]: randomBytes(MIN_KEY_BYTES).toString('base64') },
    };
    const r = await client.call('POST', path, { body: JSON.stringify(secret), timeoutMs });
    if (r.status === 201) logger.info({ namespace, secret: secretName, keyId: id }, 'created attestation keys');
    else if (r.status !== 409)
      throw new BaseError(
        'ATTESTATION_KEYS_UNAVAILABLE',
        `creating Secret ${namespace}/${secretName}: HTTP ${r.status}`,
      );
  }

  async function read(createIfAbsent: boolean): Promise<void> {
    let secret = await client.getJson(`${path}/${secretName}`, { timeoutMs });
    if (secret === undefined && createIfAbsent) {
      await create();
      secret = await client.getJson(`${path}/${secretName}`, { timeoutMs });
    }
    const ring = keyRingFromSecret(secret);
    if (!ring)
      throw new BaseError(
        'ATTESTATION_KEYS_UNAVAILABLE',
        `Secret ${namespace}/${secretName} ${secret === undefined ? 'does not exist' : 'holds no usable key'}`,
      );
    const ids = [...ring.keys.keys()].sort().join(',');
    if (ids !== current) {
      current = ids;
      logger.info({ keyIds: ids, signingKeyId: ring.signingKeyId }, 'attestation keys loaded');
    }
    options.onKeys(ring);
  }

  return {
    async start() {
      for (let delay = 500; !stopped; delay = Math.min(delay * 2, 10_000)) {
        try {
          await read(true);
          break;
        } catch (err) {
          logger.error({ err: messageOf(err) }, 'cannot read the attestation keys; retrying');
          await new Promise((r) => setTimeout(r, delay));
        }
      }
      if (stopped) return;
      timer = setInterval(() => {
        read(false).catch((err: unknown) =>
          logger.error({ err: messageOf(err) }, 'cannot re-read the attestation keys; keeping the ones in hand'),
        );
      }, options.refreshMs ?? 30_000);
      timer.unref();
    },
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
    },
  };
}
