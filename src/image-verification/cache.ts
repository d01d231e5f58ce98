// Verification results cached (LRU with TTL) by everything the result depended on: the
// digest, the policy's uid and resourceVersion, and the fingerprint of the material read
// for it (the trusted keys as they are now, also those in Secrets; the registry
// credentials, CA bundle and plain-HTTP flag; see material.ts). Concurrent misses are
// merged: 100 pods of one new image cost one registry round.
//
// What is cached, and for how long:
// - verified: `verifiedTtlMs` (default 10 min). A policy change (new resourceVersion)
//   or a rotated key Secret (new fingerprint, once the Secret is re-read: within the
//   Secret cache's 10 s) is a new key, so a removed key or digest takes effect then; a
//   namespace with other pull credentials never gets another's result.
// - definitive failures (unsigned, not-genuine, untrusted-signer, wrong-digest): `failureTtlMs`
//   (default 30 s), so a signature pushed after a denial is seen within that time.
// - transient failures (registry-error, timeout, configuration): not cached; only
//   merged while in flight.

import { LRUCache } from 'lru-cache';
import type { VerificationResult } from '../decision/facts.ts';
import { messageOf } from '../errors.ts';
import { taskKey, type VerificationTask, type Verifier } from '../rules/images/verification.ts';
import type { VerificationMaterial } from './material.ts';
import type { StagedVerifier } from './verify.ts';

export interface VerificationCacheOptions {
  max?: number;
  /** Told of every lookup: a hit, a miss (a registry round) or merged into one in flight. */
  onLookup?: (result: 'hit' | 'miss' | 'merged') => void;
  verifiedTtlMs?: number;
  failureTtlMs?: number;
  /** The clock the TTLs are measured on (tests); default performance.now. */
  now?: () => number;
}

export interface CachedVerifier {
  verify: Verifier;
  /** The cached result, if any, without a registry round (reads the material: Secrets, cached). */
  peek(task: VerificationTask, signal: AbortSignal): Promise<VerificationResult | undefined>;
  stats(): { hits: number; misses: number; merged: number; size: number };
}

const DEFINITIVE = new Set(['unsigned', 'not-genuine', 'untrusted-signer', 'wrong-digest']);

const timedOut = (signal: AbortSignal): VerificationResult => ({
  ok: false,
  failure: 'timeout',
  reason: `verification did not finish before the deadline: ${messageOf(signal.reason)}`,
});

interface Pending {
  task: VerificationTask;
  material: VerificationMaterial;
}

export function cachedVerifier(verifier: StagedVerifier, options: VerificationCacheOptions = {}): CachedVerifier {
  const verifiedTtl = options.verifiedTtlMs ?? 600_000;
  const failureTtl = options.failureTtlMs ?? 30_000;
  const ttlOf = (result: VerificationResult): number | undefined => {
    if (result.ok) return verifiedTtl;
    return DEFINITIVE.has(result.failure) && failureTtl > 0 ? failureTtl : undefined;
  };
  // lru-cache's fetch merges concurrent misses of one key into one check. The first
  // caller's deadline governs the check (ignoreFetchAbort: an aborted check still ends,
  // as a timeout result, and every caller merged into it gets that result).
  const cache = new LRUCache<string, VerificationResult, Pending>({
    max: options.max ?? 10_000,
    ttl: verifiedTtl,
    ignoreFetchAbort: true,
    // An injected clock (tests) is read on every check; +1: lru-cache takes a start time of 0 for "no TTL".
    ...(options.now ? { perf: { now: () => options.now!() + 1 }, ttlResolution: 0 } : {}),
    fetchMethod: async (_key, _stale, { signal, options: set, context }) => {
      const result = await verifier.check(context.task, context.material, signal);
      set.ttl = ttlOf(result) ?? 1; // transient: dropped below as soon as it is returned
      return result;
    },
  });
  let hits = 0;
  let misses = 0;
  let merged = 0;

  return {
    async verify(task, signal) {
      const material = await verifier.material(task, signal);
      const key = `${taskKey(task)}|${material.fingerprint}`;
      // lru-cache would not see a signal that is already aborted: the check must not start.
      if (signal.aborted) return timedOut(signal);
      const status: LRUCache.Status<string, VerificationResult, Pending> = {};
      const result = await cache.fetch(key, { signal, context: { task, material }, status });
      const lookup = status.fetch === 'hit' ? 'hit' : status.fetch === 'inflight' ? 'merged' : 'miss';
      if (lookup === 'hit') hits++;
      else if (lookup === 'merged') merged++;
      else misses++;
      options.onLookup?.(lookup);
      if (!result) return timedOut(signal);
      // Transient failures (registry errors, timeouts, configuration) are shared by the
      // callers merged into the check, and never served from the cache afterwards.
      if (ttlOf(result) === undefined && cache.peek(key) === result) cache.delete(key);
      return result;
    },
    async peek(task, signal) {
      const material = await verifier.material(task, signal);
      return cache.get(`${taskKey(task)}|${material.fingerprint}`);
    },
    stats: () => ({ hits, misses, merged, size: cache.size }),
  };
}
