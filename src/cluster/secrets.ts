// Reading Secrets for image verification: public keys (`ImagePolicy` key authorities
// with a secretRef) and registry credentials (the policy's credentialsSecretRef and a
// pod's imagePullSecrets); and, alike, the ConfigMaps holding keyless authorities'
// trusted roots. Reads go through KubeReader with a short cache, so a
// rotated or newly created Secret is used within `ttlMs` without a restart, while a
// burst of admissions costs one apiserver GET per Secret.

import { LRUCache } from 'lru-cache';
import type { KubeReader } from './kube-client.ts';
import { BaseError, isBulwarkError, messageOf } from '../errors.ts';

export interface SecretRef {
  namespace: string;
  name: string;
}

export interface SecretData {
  type: string;
  /** Decoded values of `data` (and `stringData`, which a fake or an old apiserver may return). */
  data: ReadonlyMap<string, Buffer>;
  /** metadata.labels: a key Secret must carry the lock label. */
  labels: Readonly<Record<string, string>>;
}

/** Resolves undefined when the Secret does not exist; throws SECRET_UNAVAILABLE when it cannot be read. */
export type ReadSecret = (ref: SecretRef, signal: AbortSignal) => Promise<SecretData | undefined>;

export interface SecretSourceOptions {
  /** Only GETs are needed. */
  kube: Pick<KubeReader, 'getJson'>;
  /** How long a read (found or not found) is reused. Default 10 s. */
  ttlMs?: number;
  /** Per-GET deadline; the caller's signal may end it sooner. Default 5 s. */
  timeoutMs?: number;
  now?: () => number;
  /** What is read: Secrets (default), or ConfigMaps (their data as UTF-8, binaryData as base64). */
  resource?: 'secrets' | 'configmaps';
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Turns a ConfigMap object into the same shape as a Secret's (`type` ConfigMap). */
export function decodeConfigMap(object: unknown, ref: SecretRef): SecretData {
  const o = object as { data?: unknown; binaryData?: unknown } | null;
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries((o?.data ?? {}) as Record<string, unknown>))
    if (typeof value === 'string') data[key] = Buffer.from(value, 'utf8').toString('base64');
  const decoded = decodeSecret(
    { ...o, data: { ...(o?.binaryData as object), ...data }, stringData: {} },
    ref,
    'ConfigMap',
  );
  return { ...decoded, type: 'ConfigMap' };
}

/** Turns a Secret object (as the apiserver returns it) into decoded data. */
export function decodeSecret(object: unknown, ref: SecretRef, kind = 'Secret'): SecretData {
  const o = object as { type?: unknown; data?: unknown; stringData?: unknown; metadata?: { labels?: unknown } } | null;
  if (typeof o !== 'object' || o === null)
    throw new BaseError(
      'SECRET_UNAVAILABLE',
      `${kind} ${ref.namespace}/${ref.name}: the apiserver answered with something that is not an object`,
    );
  const data = new Map<string, Buffer>();
  for (const [key, value] of Object.entries((o.data ?? {}) as Record<string, unknown>)) {
    if (typeof value === 'string') data.set(key, Buffer.from(value, 'base64'));
  }
  for (const [key, value] of Object.entries((o.stringData ?? {}) as Record<string, unknown>)) {
    if (typeof value === 'string' && !data.has(key)) data.set(key, Buffer.from(value, 'utf8'));
  }
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries((o.metadata?.labels ?? {}) as Record<string, unknown>)) {
    if (typeof value === 'string') labels[key] = value;
  }
  return { type: typeof o.type === 'string' ? o.type : 'Opaque', data, labels };
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal, ref: SecretRef): Promise<T> {
  if (signal.aborted)
    return Promise.reject(
      new BaseError('SECRET_UNAVAILABLE', `reading Secret ${ref.namespace}/${ref.name} was aborted`, {
        cause: signal.reason,
      }),
    );
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(
        new BaseError('SECRET_UNAVAILABLE', `reading Secret ${ref.namespace}/${ref.name} was aborted`, {
          cause: signal.reason,
        }),
      );
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * A cached `ReadSecret` on top of KubeReader. Found and not-found answers are both kept
 * for `ttlMs` (at most 1,024 Secrets, least recently used dropped first); failures are
 * not kept. Concurrent reads of one Secret share one GET (lru-cache's fetch); a caller's
 * signal ends its own wait, not the GET others share.
 */
export function createSecretSource(options: SecretSourceOptions): ReadSecret {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const configMaps = options.resource === 'configmaps';
  const kind = configMaps ? 'ConfigMap' : 'Secret';
  const cache = new LRUCache<string, { secret: SecretData | undefined }, SecretRef>({
    max: 1024,
    ttl: options.ttlMs ?? 10_000,
    // An injected clock (tests) is read on every check; +1: lru-cache takes a start time of 0 for "no TTL".
    ...(options.now ? { perf: { now: () => options.now!() + 1 }, ttlResolution: 0 } : {}),
    fetchMethod: async (key, _stale, { context: ref }) => {
      try {
        const object = await options.kube.getJson(
          `/api/v1/namespaces/${ref.namespace}/${options.resource ?? 'secrets'}/${ref.name}`,
          { timeoutMs },
        );
        const decode = configMaps ? decodeConfigMap : decodeSecret;
        return { secret: object === undefined ? undefined : decode(object, ref) };
      } catch (err) {
        throw isBulwarkError(err, 'SECRET_UNAVAILABLE')
          ? err
          : new BaseError('SECRET_UNAVAILABLE', `${kind} ${key} could not be read: ${messageOf(err)}`, { cause: err });
      }
    },
  });

  return async (ref, signal) => {
    if (!NAME.test(ref.namespace) || !NAME.test(ref.name)) {
      throw new BaseError(
        'SECRET_UNAVAILABLE',
        `${JSON.stringify(`${ref.namespace}/${ref.name}`)} is not a valid ${kind} name`,
      );
    }
    const read = cache.fetch(`${ref.namespace}/${ref.name}`, { context: ref });
    return (await abortable(read, signal, ref))?.secret;
  };
}

/** The PEM text under `key` of a Secret, or a problem that says what is missing. */
export function secretText(
  secret: SecretData | undefined,
  ref: SecretRef & { key: string },
): { text: string } | { problem: string } {
  if (!secret) return { problem: `Secret ${ref.namespace}/${ref.name} does not exist` };
  const value = secret.data.get(ref.key);
  if (!value)
    return {
      problem:
        `Secret ${ref.namespace}/${ref.name} has no ` +
        `key ${JSON.stringify(ref.key)} (keys: ${[...secret.data.keys()].join(', ') || 'none'})`,
    };
  return { text: value.toString('utf8') };
}

/** The Docker config document of a pull Secret: `.dockerconfigjson`, or the older `.dockercfg`. */
export function dockerConfigText(secret: SecretData, ref: SecretRef): { text: string } | { problem: string } {
  const value = secret.data.get('.dockerconfigjson') ?? secret.data.get('.dockercfg');
  if (!value)
    return {
      problem: `Secret ${ref.namespace}/${ref.name} (type ${secret.type}) has neither .dockerconfigjson nor .dockercfg`,
    };
  return { text: value.toString('utf8') };
}
