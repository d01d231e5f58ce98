// Recording who locked it (cluster/lock-attribution.ts) through decide(): an allowed lock
// writes one signed record named after the request uid, before the answer; a denied one,
// a dry run, or a request that locks nothing writes nothing. A failed write never denies
// the lock: it is counted and logged. (The real apiserver: test/e2e/lock-attribution.test.ts.)

import { describe, expect, it } from 'vitest';
import { checkAttribution, type LockAttributionSpec } from '../../../src/attestation/attribution.ts';
import { createAttributionRecorder } from '../../../src/cluster/lock-attribution.ts';
import type { CallResult } from '../../../src/cluster/kube-client.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { decide } from '../../../src/review/decide.ts';
import { TEST_KEYS } from '../../helpers/attestation.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { variant } from '../../helpers/reviews.ts';
import { builtinSnapshot } from '../../helpers/snapshots.ts';

const NOW = Date.parse('2026-11-29T09:00:42Z');
const logger = createLogger('silent');

function recorder(answer: () => Promise<CallResult>, keys = true) {
  const calls: { method: string; path: string; body: { metadata: { name: string }; spec: LockAttributionSpec } }[] = [];
  const failures: string[] = [];
  const hook = createAttributionRecorder({
    client: {
      call: (method, path, options) => {
        calls.push({ method, path, body: JSON.parse(options.body ?? 'null') });
        return answer();
      },
    },
    namespace: 'bulwark-system',
    keys: () => (keys ? TEST_KEYS : undefined),
    lockLabel: () => builtinSnapshot().lockLabel,
    logger,
    onFailure: (why) => failures.push(why),
    timeoutMs: 1000,
    now: () => NOW,
  });
  return { hook, calls, failures };
}

const run = (hook: ReturnType<typeof recorder>['hook'], review = loadReview('configmap-create-labelled')) =>
  decide(review, { snapshot: builtinSnapshot, resolveFacts: async () => ({}), onDecided: hook });

describe('recording who locked it', () => {
  it('writes one signed record, named after the request, when a lock is admitted', async () => {
    const { hook, calls, failures } = recorder(async () => ({ status: 201, body: {} }));
    const review = loadReview('configmap-create-labelled');
    expect((await run(hook, review)).verdict.allowed).toBe(true);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      method: 'POST',
      path: '/apis/bulwark.dev/v1alpha1/namespaces/bulwark-system/lockattributions',
      body: { metadata: { name: review.request.uid }, spec: { user: 'alice', at: new Date(NOW).toISOString() } },
    });
    expect(checkAttribution(TEST_KEYS, calls[0]!.body.spec)).toEqual({ ok: true });
    expect(failures).toEqual([]);
  });

  it('writes nothing for a dry run, a denied request or one that locks nothing', async () => {
    const { hook, calls } = recorder(async () => ({ status: 201, body: {} }));
    await run(
      hook,
      variant('configmap-create-labelled', (r) => {
        r.request.dryRun = true;
      }),
    );
    await run(hook, loadReview('configmap-apply-changed'));
    await run(hook, loadReview('configmap-update-unlabelled'));
    expect(calls).toEqual([]);
  });

  it('a record already made (409) is no failure; any other failure is counted, the lock stands', async () => {
    const exists = recorder(async () => ({ status: 409, body: {} }));
    await run(exists.hook);
    expect(exists.failures).toEqual([]);
    for (const answer of [
      async () => ({ status: 403, body: { message: 'forbidden' } }),
      async () => Promise.reject(new Error('timed out')),
    ]) {
      const failing = recorder(answer);
      expect((await run(failing.hook)).verdict.allowed).toBe(true);
      expect(failing.failures).toEqual(['write-failed']);
    }
    const keyless = recorder(async () => ({ status: 201, body: {} }), false);
    expect((await run(keyless.hook)).verdict.allowed).toBe(true);
    expect(keyless.failures).toEqual(['no-key']);
    expect(keyless.calls).toEqual([]);
  });
});
