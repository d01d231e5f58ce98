// The loops' Lease as one replica sees it: leading, following, or failing (cannot read or
// write it, e.g. refused by the lease guard or RBAC). Failing is never silent: an error log
// once per episode, and bulwark_controller_lease{state="failing"} at scrape time. The
// apiserver's answers are scripted here (the election against a real one: e2e
// controller-leader.test.ts, lease-guard.test.ts).

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CallResult, KubeClient } from '../../../src/cluster/kube-client.ts';
import { leaseLeader } from '../../../src/cluster/leader.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const micro = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

function scripted(answers: Record<string, CallResult | Error>): { client: KubeClient; calls: string[] } {
  const calls: string[] = [];
  const client = {
    async call(method: string) {
      calls.push(method);
      const answer = answers[method] ?? { status: 500, body: {} };
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as KubeClient;
  return { client, calls };
}

function elector(answers: Record<string, CallResult | Error>) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const { client, calls } = scripted(answers);
  const leader = leaseLeader({
    client,
    namespace: 'bulwark-system',
    name: 'bulwark-controllers',
    identity: 'me',
    logger: createLogger('info', sink),
    now: () => NOW,
  });
  return { leader, lines, calls };
}

const held = (holder: string, renewedMsAgo: number): CallResult => ({
  status: 200,
  body: { spec: { holderIdentity: holder, leaseDurationSeconds: 15, renewTime: micro(NOW - renewedMsAgo) } },
});
const REFUSED = { status: 403, body: { message: "Bulwark's Lease bulwark-controllers ... not admin" } };

describe("the loops' Lease, as one replica sees it", () => {
  it.each([
    [
      'creates a missing Lease: leading',
      { GET: { status: 404, body: {} }, POST: { status: 201, body: {} } },
      'leading',
    ],
    [
      'another replica created it first: following',
      { GET: { status: 404, body: {} }, POST: { status: 409, body: {} } },
      'following',
    ],
    ['renews its own: leading', { GET: held('me', 1_000), PUT: { status: 200, body: {} } }, 'leading'],
    ['another holder renews it: following', { GET: held('other', 1_000) }, 'following'],
    ['takes over an expired one: leading', { GET: held('other', 60_000), PUT: { status: 200, body: {} } }, 'leading'],
    [
      'loses the race for an expired one: following',
      { GET: held('other', 60_000), PUT: { status: 409, body: {} } },
      'following',
    ],
    ['cannot renew (refused): failing', { GET: held('me', 1_000), PUT: REFUSED }, 'failing'],
    ['cannot create (refused): failing', { GET: { status: 404, body: {} }, POST: REFUSED }, 'failing'],
    ['cannot read: failing', { GET: { status: 403, body: { message: 'forbidden' } } }, 'failing'],
    ['the apiserver is unreachable: failing', { GET: new Error('ECONNREFUSED') }, 'failing'],
  ] as const)('%s', async (_name, answers, state) => {
    const { leader } = elector(answers as Record<string, CallResult | Error>);
    expect(await leader.tryAcquire()).toBe(state === 'leading');
    expect(leader.state()).toBe(state);
  });

  it('says once, loudly, that it runs no loops when it cannot write the Lease, and the metric shows it', async () => {
    const { leader, lines } = elector({ GET: held('me', 1_000), PUT: REFUSED });
    await leader.tryAcquire();
    await leader.tryAcquire();
    const errors = lines.filter((l) => l.includes('cannot read or write the Lease'));
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0]!)).toMatchObject({ level: 50, problem: expect.stringContaining('HTTP 403') });
    const metrics = createMetrics({ collectDefaults: false });
    metrics.watchLease(() => leader.state());
    const text = await metrics.registry.metrics();
    expect(text).toContain('bulwark_controller_lease{state="failing"} 1');
    expect(text).toContain('bulwark_controller_lease{state="leading"} 0');
  });
});
