// Per-stage CPU of one admission review, in-process (no TLS, no sockets): body to
// string, JSON parse, schema check, decision, encode, JSON.stringify, metrics, log
// line. `node bench/stages.ts >/dev/null` prints (on stderr) where the microseconds of a request go.

import { createReviewDecoder } from '../src/admission/decode.ts';
import { loadConfig } from '../src/config/load.ts';
import { defaultPolicyOf, policyAdminsOf } from '../src/config/default-policy.ts';
import { createPolicyCompiler } from '../src/policy/compiler.ts';
import { PolicyStore } from '../src/policy/store.ts';
import { reviewRequest } from '../src/review/review.ts';
import { encodeResponse } from '../src/review/encode.ts';
import { createMetrics } from '../src/observability/metrics.ts';
import { createLogger } from '../src/observability/logger.ts';
import { logDecision } from '../src/server/log-decision.ts';
import { parseJson } from '../src/json/parse.ts';
import { benchReviews } from './reviews.ts';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20_000);

const config = await loadConfig({ overrides: { cluster: 'none' } as never });
const store = new PolicyStore({
  compiler: createPolicyCompiler(),
  defaultImmutability: defaultPolicyOf(config),
  policyAdmins: policyAdminsOf(config),
  sources: [],
});
const snapshot = store.snapshot();
const decoder = createReviewDecoder();
const metrics = createMetrics();
// The server's own logger (asynchronous, batched stdout): run with stdout to /dev/null.
const logger = createLogger('info');

for (const w of await benchReviews()) {
  const body = w.bodies[0]!;
  const stages: Record<string, (s: Record<string, unknown>) => unknown> = {
    'toString utf8': () => body.toString('utf8'),
    'JSON parse (parseJson)': (s) => parseJson(s['toString utf8'] as string),
    'schema check': (s) => decoder.decode(s['JSON parse (parseJson)']),
    decision: (s) => reviewRequest({ request: (s['schema check'] as never as { request: never }).request, snapshot }),
    encode: (s) => encodeResponse('uid', s.decision as never),
    'JSON.stringify': (s) => JSON.stringify(s.encode),
    metrics: (s) => metrics.observeReview(s.decision as never, 'UPDATE', 0.0002),
    'log line': (s) =>
      logDecision(
        logger,
        (s['schema check'] as { request: never }).request,
        { verdict: s.decision, review: s.encode } as never,
        0.0002,
      ),
  };
  const names = Object.keys(stages);
  // One pass makes each stage's input; then each stage runs alone in a loop, timed by the
  // process's CPU time (not the clock: the bench machine is shared, a preempted stage
  // would count the other processes' time).
  const state: Record<string, unknown> = {};
  for (const name of names) state[name] = stages[name]!(state);
  const total = names.map((name) => {
    const stage = stages[name]!;
    for (let i = 0; i < 2000; i++) stage(state);
    const before = process.cpuUsage();
    for (let i = 0; i < ITERATIONS; i++) stage(state);
    const used = process.cpuUsage(before);
    return (used.user + used.system) * 1000;
  });
  console.error(`== ${w.name} (${body.length} bytes)`);
  let sum = 0;
  names.forEach((name, k) => {
    const us = total[k]! / ITERATIONS / 1000;
    sum += us;
    console.error(`  ${name.padEnd(24)} ${us.toFixed(1).padStart(7)} us`);
  });
  console.error(`  ${'total'.padEnd(24)} ${sum.toFixed(1).padStart(7)} us`);
}
