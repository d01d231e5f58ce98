// One log line per decided review: denials and warnings at info, plain allows at debug
// only, a fail-closed denial at error with the exception (which the response withholds).

import { describe, expect, it } from 'vitest';
import { createLogger, type LogLevel } from '../../../src/observability/logger.ts';
import { decide, noClusterFacts } from '../../../src/review/decide.ts';
import { logDecision } from '../../../src/server/log-decision.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { builtinSnapshot } from '../../helpers/snapshots.ts';

async function logged(
  level: LogLevel,
  review: string,
  resolveFacts = noClusterFacts,
): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const logger = createLogger(level, {
    write: (line: string) => {
      lines.push(line);
    },
  });
  const { request } = loadReview(review);
  logDecision(
    logger,
    request,
    await decide(loadReview(review), { snapshot: () => builtinSnapshot(), resolveFacts }),
    0.0012345,
  );
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('logDecision', () => {
  it('logs a denial at info: who did what to which object, the rules and the reasons', async () => {
    const [line] = await logged('info', 'configmap-apply-changed');
    expect(line).toMatchObject({
      level: 30,
      msg: 'admission decision',
      operation: 'UPDATE',
      kind: 'v1/ConfigMap',
      resource: 'configmaps',
      namespace: 'demo',
      name: 'app-config',
      decision: 'deny',
      rules: ['immutability:deny'],
      reasons: [expect.stringContaining('data.color (changed)')],
      ms: 1.235,
      dryRun: false,
    });
    expect(line).toHaveProperty('uid');
  });

  it('logs a plain allow only at debug', async () => {
    expect(await logged('info', 'configmap-apply-identical')).toEqual([]);
    expect(await logged('debug', 'configmap-apply-identical')).toMatchObject([{ level: 20, decision: 'allow' }]);
  });

  it('logs a fail-closed denial at error, with the exception the response leaves out, whatever the level', async () => {
    const lines = await logged('error', 'configmap-apply-identical', async () => {
      throw new Error('socket hang up');
    });
    expect(lines).toMatchObject([
      { level: 50, msg: 'decision failed; denied (fail closed)', decision: 'deny', err: { message: 'socket hang up' } },
    ]);
  });
});
