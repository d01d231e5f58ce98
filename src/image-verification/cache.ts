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
import { taskKey, type Verifier } from '../rules/images/verification.ts';
import type { StagedVerifier } from './verify.ts';

export interface VerificationCacheOptions {
  max?: number;
  verifiedTtlMs?: number;
  failureTtlMs?: number;
}

export interface CachedVerifier {
  verify: Verifier;
  stats(): { hits: number; misses: number; merged: number; size: number };
}

const DEFINITIVE = new Set(['unsigned', 'not-genuine', 'untrusted-signer', 'wrong-digest']);

export function cachedVerifier(verifier: StagedVerifier, options: VerificationCacheOptions = {}): CachedVerifier {
  const verifiedTtl = options.verifiedTtlMs ?? 600_000;
  const failureTtl = options.failureTtlMs ?? 30_000;
  const cache = new LRUCache<string, VerificationResult>({ max: options.max ?? 10_000, ttl: verifiedTtl, ttlAutopurge: false });
  const inflight = new Map<string, Promise<VerificationResult>>();
  let hits = 0;
  let misses = 0;
  let merged = 0;

  return {
    async verify(task, signal) {
      const material = await verifier.material(task, signal);
      const key = `${taskKey(task)}|${material.fingerprint}`;
      const cached = cache.get(key);
      if (cached) {
        hits++;
        return cached;
      }
      let pending = inflight.get(key);
      if (pending) merged++;
      else {
        misses++;
        pending = verifier.check(task, material, signal).then((result) => {
          if (result.ok) cache.set(key, result, { ttl: verifiedTtl });
          else if (DEFINITIVE.has(result.failure) && failureTtl > 0) cache.set(key, result, { ttl: failureTtl });
          return result;
        }).finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return pending;
    },
    stats: () => ({ hits, misses, merged, size: cache.size }),
  };
}
