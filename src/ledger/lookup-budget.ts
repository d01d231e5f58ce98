// What one running-pod scan (running-pods.ts) may ask of registries: admission's verifier and
// cache, behind a budget. A result already in the cache costs nothing, nor does one another pod
// of this scan is already verifying; every other verification and every tag lookup is one
// registry round, at most `concurrency` at a time, at most `maxLookups` per scan and none
// started after `deadline`. Work past the budget is not done and not guessed: the pod it
// belongs to is deferred, keeps what the last scan found, and is judged by a later scan (whose
// cache holds what this one verified). A pod may also be asked of the cache only (`spend`
// false): running-pods.ts first serves the pods deferred last time.

import type { VerificationResult } from '../decision/facts.ts';
import type { CachedVerifier } from '../image-verification/cache.ts';
import type { ImageGatherDeps } from '../image-verification/gather.ts';
import { taskKey } from '../rules/images/verification.ts';

export interface LookupBudgetOptions {
  verifier: Pick<CachedVerifier, 'verify' | 'peek'>;
  resolveTag: ImageGatherDeps['resolveTag'];
  concurrency: number;
  maxLookups: number;
  /** Epoch ms after which no lookup starts. */
  deadline: number;
  /** Per pod: how long its facts may take, waiting for a slot included. */
  timeoutMs: number;
  now?: () => number;
}

const DEFERRED: VerificationResult = { ok: false, failure: 'timeout', reason: 'deferred to the next scan' };

export function createLookupBudget(options: LookupBudgetOptions) {
  const now = options.now ?? Date.now;
  let started = 0;
  let active = 0;
  const waiting: (() => void)[] = [];
  /** This scan's rounds by task: a second pod of the same image waits for the first's, spending nothing. */
  const rounds = new Map<string, Promise<VerificationResult | undefined>>();

  /** Runs `work` in a slot, or answers undefined when the budget is spent. */
  async function inSlot<T>(work: () => Promise<T>): Promise<T | undefined> {
    if (started >= options.maxLookups || now() >= options.deadline) return undefined;
    started += 1;
    if (active >= options.concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await work();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  }

  return {
    /** Gather dependencies for one pod, and whether any of its lookups was deferred (all are unless `spend`). */
    forPod(spend: boolean): { deps: ImageGatherDeps; deferred: () => boolean } {
      let deferred = false;
      const deps: ImageGatherDeps = {
        timeoutMs: options.timeoutMs,
        async verify(task, signal) {
          const cached = await options.verifier.peek(task, signal);
          if (cached) return cached;
          const key = taskKey(task);
          let round = rounds.get(key);
          if (!round && spend) {
            round = inSlot(() => options.verifier.verify(task, signal));
            rounds.set(key, round);
          }
          const result = await round;
          if (result) return result;
          deferred = true;
          return DEFERRED;
        },
        async resolveTag(ref, policy, pullSecrets, signal) {
          const digest = spend ? await inSlot(() => options.resolveTag(ref, policy, pullSecrets, signal)) : undefined;
          if (digest !== undefined) return digest;
          deferred = true;
          throw new Error('deferred to the next scan');
        },
      };
      return { deps, deferred: () => deferred };
    },
    /** Registry rounds started so far (cache hits are not counted). */
    lookups: () => started,
    /** Rounds this scan may still start. */
    left: () => (now() >= options.deadline ? 0 : Math.max(0, options.maxLookups - started)),
  };
}
