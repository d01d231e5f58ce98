// The latency histogram is counted in plain arrays (label-histogram.ts); what /metrics
// shows must be what prom-client's own Histogram shows for the same observations.

import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { labelHistogram } from '../../../src/observability/label-histogram.ts';

const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 1, 10];
const HELP = 'Time from decoded review to encoded response';

describe('labelHistogram', () => {
  it("writes the exposition prom-client's Histogram writes", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = labelHistogram({ name: 'x_seconds', help: HELP, label: 'allowed', buckets: BUCKETS, registry: ours });
    const reference = new Histogram({
      name: 'x_seconds',
      help: HELP,
      labelNames: ['allowed'],
      buckets: BUCKETS,
      registers: [theirs],
    });
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // On a bound, between bounds, above every bound, zero; the "false" series first seen first.
    const observations: [string, number][] = [
      ['false', 0.0005],
      ['true', 0.00011],
      ['false', 0],
      ['true', 42],
      ['true', 0.01],
      ['false', 0.003],
    ];
    for (const [allowed, seconds] of observations) {
      fast.observe(allowed, seconds);
      reference.observe({ allowed }, seconds);
    }
    const written = await ours.metrics();
    expect(written).toBe(await theirs.metrics());
    expect(written).toContain('x_seconds_bucket{le="0.0005",allowed="false"} 2');
    expect(written).toContain('x_seconds_bucket{le="+Inf",allowed="true"} 3');
  });
});
