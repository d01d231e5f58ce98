// What keeps the front door's memory and logs bounded: the body budget, log lines whose
// request-derived fields are cut, and warnings sampled per interval (every one counted
// by the metrics elsewhere).

import { afterEach, describe, expect, it, vi } from 'vitest';
import { clip, clipList } from '../../../src/observability/bounded.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { sampledWarning } from '../../../src/observability/sampled-warning.ts';
import { decide, noClusterFacts } from '../../../src/review/decide.ts';
import { createBodyBudget } from '../../../src/server/body-budget.ts';
import { logDecision } from '../../../src/server/log-decision.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { builtinSnapshot } from '../../helpers/snapshots.ts';

function capture(level: 'info' | 'warn' = 'info') {
  const lines: string[] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

describe('body budget', () => {
  it('admits a request alone whatever its size, then only what fits, and frees on release', () => {
    const budget = createBodyBudget(10);
    expect(budget.tryReserve(25)).toBe(true);
    expect(budget.tryReserve(1)).toBe(false);
    budget.release(25);
    expect([budget.tryReserve(6), budget.tryReserve(4), budget.tryReserve(1), budget.inFlight]).toEqual([
      true,
      true,
      false,
      10,
    ]);
  });
});

describe('bounded log lines', () => {
  it('cuts strings and lists, saying how much was left out', () => {
    expect(clip('a'.repeat(300))).toBe(`${'a'.repeat(256)}…(44 more characters)`);
    expect(clip('short')).toBe('short');
    expect(clipList(Array.from({ length: 12 }, (_, i) => `r${i}`))).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `r${i}`),
      '…(2 more)',
    ]);
  });

  it('keeps a decision line short when the request holds megabyte-long fields', async () => {
    const review = loadReview('configmap-apply-changed');
    const huge = 'x'.repeat(2_000_000);
    review.request.uid = huge;
    review.request.name = huge;
    review.request.namespace = huge;
    review.request.userInfo.username = huge;
    const { logger, lines } = capture();
    const decided = await decide(review, { snapshot: () => builtinSnapshot(), resolveFacts: noClusterFacts });
    logDecision(logger, review.request, decided, 0.001);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThan(8_000);
    expect(JSON.parse(lines[0]!)).toMatchObject({ decision: 'deny', uid: expect.stringMatching(/more characters\)$/) });
  });
});

describe('sampled warnings', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('logs the first of an interval at once, then one line with the count and the last example', () => {
    vi.useFakeTimers();
    const { logger, lines } = capture('warn');
    const noise = sampledWarning(logger, 10_000);
    for (let i = 0; i < 1000; i++) noise.warn({ example: i }, 'rejected malformed admission review');
    noise.warn({ other: true }, 'could not read request body');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual([
      'rejected malformed admission review',
      'could not read request body',
    ]);
    vi.advanceTimersByTime(10_000);
    expect(JSON.parse(lines[2]!)).toMatchObject({
      msg: 'rejected malformed admission review (more)',
      suppressed: 999,
      example: 999,
    });
    expect(lines).toHaveLength(3);
    // A new interval: the next one is logged at once again.
    noise.warn({ example: 'next' }, 'rejected malformed admission review');
    expect(lines).toHaveLength(4);
    noise.stop();
  });
});
