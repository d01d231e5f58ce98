// The shell reads the clock, the core never does: the fact resolver stamps each request
// with its time (injectable), and an UnlockRequest stops counting the moment that time
// reaches its expiry. Unlock expiry is tested here with the injected clock; one e2e test
// (unlock.test.ts) shows it with the real one.

import { describe, expect, it } from 'vitest';
import { clusterFactResolver } from '../../../src/cluster/facts.ts';
import type { KubeReader } from '../../../src/cluster/kube-client.ts';
import type { CompiledUnlock } from '../../../src/policy/compile-unlock.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { immutabilityPolicy } from '../../helpers/policies.ts';
import { compiler, policyStore } from '../../helpers/snapshots.ts';
import { CREATED_MS, unlockRequest } from '../../helpers/unlock.ts';

const MINUTE = 60_000;
const APPROVERS = ['dev', 'approvers', 'system:authenticated'];

/** A reader that must not be asked: an UPDATE of a ConfigMap needs no API call. */
const noReads = {
  server: 'https://unused',
  getJson: () => {
    throw new Error('no API call expected');
  },
} as unknown as KubeReader;

function unlockOf(duration: string): CompiledUnlock {
  const r = compiler.unlock(
    unlockRequest('ur-1', { duration }, [
      { user: 'bob', groups: APPROVERS },
      { user: 'carol', groups: APPROVERS },
    ]),
  );
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.unlock;
}

describe('the clock of the fact resolver', () => {
  const store = policyStore({ sources: [] });
  store.upsert(
    'ImmutabilityPolicy',
    immutabilityPolicy('locks', { unlock: { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h' } }),
  );

  it('stamps each request, and an unlock ends when the time reaches its expiry, to the millisecond', async () => {
    let now = CREATED_MS + MINUTE;
    const unlock = unlockOf('30m');
    const resolve = clusterFactResolver({
      reader: noReads,
      informers: {
        namespaceLabels: () => ({}),
        namespaces: () => [],
        unlocksFor: (ns, name) => (ns === 'demo' && name === 'app-config' ? [unlock] : []),
      },
      timeoutMs: 1000,
      now: () => now,
    });
    const decideAt = async (time: number) => {
      now = time;
      const request = loadReview('configmap-apply-changed').request;
      const facts = await resolve(request, store.snapshot());
      expect(facts.now).toBe(time);
      return reviewRequest({ request, snapshot: store.snapshot(), facts });
    };
    expect((await decideAt(CREATED_MS + MINUTE)).allowed).toBe(true);
    expect((await decideAt(unlock.expiresAtMs - 1)).allowed).toBe(true);
    const expired = await decideAt(unlock.expiresAtMs);
    expect(expired.allowed).toBe(false);
    expect(expired.reasons[0]).toMatch(/UnlockRequest ur-1: it expired at 2026-11-25T10:30:00.000Z/);
  });
});
