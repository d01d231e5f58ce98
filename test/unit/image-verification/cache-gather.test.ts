// Caching, merging of concurrent misses, and the deadline of image verification.

import { describe, expect, it } from 'vitest';
import { cachedVerifier } from '../../../src/image-verification/cache.ts';
import { gatherImageFacts } from '../../../src/image-verification/gather.ts';
import type { VerificationResult } from '../../../src/decision/facts.ts';
import type { VerificationTask, Verifier } from '../../../src/rules/images/verification.ts';
import type { StagedVerifier } from '../../../src/image-verification/verify.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { variant } from '../../helpers/reviews.ts';
import { P256_PUBLIC_KEY, imagePolicy } from '../../helpers/policies.ts';
import { policyStore } from '../../helpers/snapshots.ts';

function task(digestByte: string, resourceVersion = '1'): VerificationTask {
  const store = policyStore({ sources: [] });
  store.upsert('ImagePolicy', {
    ...imagePolicy('p', { images: ['**'], authorities: [{ name: 'k', key: { publicKey: P256_PUBLIC_KEY } }] }),
    metadata: { name: 'p', uid: 'u', resourceVersion },
  });
  return {
    image: { original: 'x', registry: 'r', repository: 'a', digest: `sha256:${digestByte.repeat(64)}` },
    policy: store.snapshot().images[0]!,
    pullSecrets: [],
  };
}

/** Counts checks; each resolves after `ms` with `result`. Its material's fingerprint is `fingerprint` (settable). */
function countingVerifier(
  result: VerificationResult,
  ms = 20,
): StagedVerifier & { calls: number; fingerprint: string } {
  const check = async () => {
    fn.calls++;
    await new Promise((r) => setTimeout(r, ms));
    return result;
  };
  const fn = Object.assign(async () => check(), {
    calls: 0,
    fingerprint: 'key-1',
    material: async () => ({ keys: [], roots: [], access: { problem: 'none' }, fingerprint: fn.fingerprint }),
    check,
  });
  return fn;
}

const signal = () => AbortSignal.timeout(5000);

describe('cachedVerifier', () => {
  it('tells every lookup as a miss, a merge into the round in flight, or a hit', async () => {
    const lookups: string[] = [];
    const cached = cachedVerifier(countingVerifier({ ok: true, authority: 'k', detail: 'ok' }), {
      onLookup: (r) => lookups.push(r),
    });
    await Promise.all([cached.verify(task('c'), signal()), cached.verify(task('c'), signal())]);
    await cached.verify(task('c'), signal());
    expect(lookups).toEqual(['miss', 'merged', 'hit']);
  });

  it('merges 100 concurrent misses for one digest into one verification, then serves hits', async () => {
    const inner = countingVerifier({ ok: true, authority: 'k', detail: 'ok' });
    const cached = cachedVerifier(inner);
    const results = await Promise.all(Array.from({ length: 100 }, () => cached.verify(task('a'), signal())));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(inner.calls).toBe(1);
    await cached.verify(task('a'), signal());
    expect(inner.calls).toBe(1);
    expect(cached.stats()).toMatchObject({ misses: 1, merged: 99, hits: 1 });
  });

  it('keys by policy resourceVersion: a changed policy verifies again', async () => {
    const inner = countingVerifier({ ok: true, authority: 'k', detail: 'ok' }, 1);
    const cached = cachedVerifier(inner);
    await cached.verify(task('a', '1'), signal());
    await cached.verify(task('a', '2'), signal());
    await cached.verify(task('b', '2'), signal());
    expect(inner.calls).toBe(3);
  });

  it(
    'keys by the material: a rotated key or other credentials verify again, and the old result is not ' + 'served',
    async () => {
      const inner = countingVerifier({ ok: true, authority: 'k', detail: 'ok' }, 1);
      const cached = cachedVerifier(inner);
      await cached.verify(task('a'), signal());
      inner.fingerprint = 'key-2';
      await cached.verify(task('a'), signal());
      expect(inner.calls).toBe(2);
      inner.fingerprint = 'key-1';
      await cached.verify(task('a'), signal());
      expect(inner.calls).toBe(2);
    },
  );

  it('caches definitive failures briefly and transient ones not at all', async () => {
    let now = 1_000;
    const unsigned = countingVerifier({ ok: false, failure: 'unsigned', reason: 'none' }, 1);
    const c1 = cachedVerifier(unsigned, { failureTtlMs: 30_000, now: () => now });
    await c1.verify(task('a'), signal());
    now += 29_000;
    await c1.verify(task('a'), signal());
    expect(unsigned.calls).toBe(1);
    now += 1_001;
    await c1.verify(task('a'), signal());
    expect(unsigned.calls).toBe(2);

    const down = countingVerifier({ ok: false, failure: 'registry-error', reason: 'down' }, 1);
    const c2 = cachedVerifier(down);
    await c2.verify(task('a'), signal());
    await c2.verify(task('a'), signal());
    expect(down.calls).toBe(2);
  });

  it('keeps a verified digest for its TTL', async () => {
    let now = 1_000;
    const inner = countingVerifier({ ok: true, authority: 'k', detail: 'ok' }, 1);
    const cached = cachedVerifier(inner, { verifiedTtlMs: 600_000, now: () => now });
    await cached.verify(task('a'), signal());
    now += 599_000;
    await cached.verify(task('a'), signal());
    expect(inner.calls).toBe(1);
    now += 1_001;
    await cached.verify(task('a'), signal());
    expect(inner.calls).toBe(2);
  });

  it(
    "the first caller's deadline governs a merged check: the callers merged into it get its timeout, which is " +
      'not kept',
    async () => {
      const inner: StagedVerifier & { calls: number } = Object.assign(
        async () => ({ ok: true as const, authority: 'k', detail: 'ok' }),
        {
          calls: 0,
          material: async () => ({ keys: [], roots: [], access: { problem: 'none' }, fingerprint: 'f' }),
          check: (_t: VerificationTask, _m: unknown, s: AbortSignal) => {
            inner.calls++;
            return new Promise<VerificationResult>((resolve) =>
              s.addEventListener('abort', () => resolve({ ok: false, failure: 'timeout', reason: 'deadline' })),
            );
          },
        },
      );
      const cached = cachedVerifier(inner);
      const first = new AbortController();
      const results = Promise.all([cached.verify(task('a'), first.signal), cached.verify(task('a'), signal())]);
      await new Promise((r) => setImmediate(r));
      first.abort(new Error('deadline'));
      expect(await results).toEqual([
        { ok: false, failure: 'timeout', reason: 'deadline' },
        { ok: false, failure: 'timeout', reason: 'deadline' },
      ]);
      expect(cached.stats()).toMatchObject({ misses: 1, merged: 1, size: 0 });
      const late = new AbortController();
      late.abort(new Error('too late'));
      expect(await cached.verify(task('a'), late.signal)).toEqual({
        ok: false,
        failure: 'timeout',
        reason: 'verification did not finish before the deadline: too late',
      });
      expect(inner.calls).toBe(1);
    },
  );
});

describe('gatherImageFacts', () => {
  const store = policyStore({ sources: [] });
  store.upsert(
    'ImagePolicy',
    imagePolicy('shop', {
      images: ['registry.local:5000/**'],
      unmatchedImages: 'Allow',
      authorities: [{ name: 'k', key: { publicKey: P256_PUBLIC_KEY } }],
    }),
  );

  it("verifies a pod's images in parallel: all three checks are under way before any ends", async () => {
    const images = ['cd', 'ef', 'ab'].map((b) => `registry.local:5000/shop/app-${b}@sha256:${b.repeat(32)}`);
    const review = variant('pod-create', (r) => {
      (r.request.object as { spec: { containers: unknown[] } }).spec.containers = images.map((image, i) => ({
        name: `c${i}`,
        image,
      }));
    });
    let release!: () => void;
    const allStarted = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = 0;
    // Each check waits for the others: run one after another, they would never end.
    const verify: Verifier = async () => {
      if (++started === images.length) release();
      await allStarted;
      return { ok: true, authority: 'k', detail: 'ok' };
    };
    const facts = await gatherImageFacts(
      review.request,
      store.snapshot(),
      {},
      { verify, resolveTag: async () => `sha256:${'0'.repeat(64)}`, timeoutMs: 20_000 },
    );
    expect(facts?.verifications.size).toBe(3);
    expect([...facts!.verifications.values()].every((r) => r.ok)).toBe(true);
  });

  it('turns whatever has not finished at the deadline into a timeout', async () => {
    const hang: Verifier = () => new Promise(() => {});
    const facts = await gatherImageFacts(
      loadReview('pod-create').request,
      store.snapshot(),
      {},
      { verify: hang, resolveTag: () => new Promise(() => {}), timeoutMs: 200 },
    );
    expect([...facts!.verifications.values()]).toEqual([
      { ok: false, failure: 'timeout', reason: 'verification did not finish within 0.2 s' },
    ]);
  });

  it('a verifier that throws yields a registry-error result, never an exception', async () => {
    const boom: Verifier = async () => {
      throw new Error('socket hang up');
    };
    const facts = await gatherImageFacts(
      loadReview('pod-create').request,
      store.snapshot(),
      {},
      { verify: boom, resolveTag: async () => '', timeoutMs: 1000 },
    );
    expect([...facts!.verifications.values()]).toEqual([
      { ok: false, failure: 'registry-error', reason: 'socket hang up' },
    ]);
  });
});
