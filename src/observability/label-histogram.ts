// A histogram of one label with few values (allowed="true"/"false"), counted in plain
// arrays and written for prom-client's registry when it is scraped. prom-client's own
// Histogram validates and hashes the label object on every observe, also through a
// labelled child: microseconds on every review (issue 19). The exposition is the same
// as prom-client's: buckets cumulative with `le` first, then +Inf, _sum and _count.

import type { Registry } from 'prom-client';

interface Series {
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

export interface LabelHistogram {
  /** Counts `seconds` under the label value `value` (one of those given when made). */
  observe(value: string, seconds: number): void;
}

export function labelHistogram(options: {
  name: string;
  help: string;
  label: string;
  buckets: readonly number[];
  registry: Registry;
}): LabelHistogram {
  const { name, label, buckets } = options;
  // Series appear in the order of their first observation, like prom-client's.
  const series = new Map<string, Series>();
  options.registry.registerMetric({
    name,
    help: options.help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const [labelValue, s] of series) {
        let acc = 0;
        buckets.forEach((le, i) => {
          acc += s.counts[i]!;
          values.push({ labels: { le, [label]: labelValue }, value: acc, metricName: `${name}_bucket` });
        });
        values.push({ labels: { le: '+Inf', [label]: labelValue }, value: s.count, metricName: `${name}_bucket` });
        values.push({ labels: { [label]: labelValue }, value: s.sum, metricName: `${name}_sum` });
        values.push({ labels: { [label]: labelValue }, value: s.count, metricName: `${name}_count` });
      }
      return { name, help: options.help, type: 'histogram', aggregator: 'sum', values };
    },
  } as never);
  return {
    observe(value, seconds) {
      let s = series.get(value);
      if (!s) {
        s = { counts: new Float64Array(buckets.length + 1), sum: 0, count: 0 };
        series.set(value, s);
      }
      let i = 0;
      while (i < buckets.length && seconds > buckets[i]!) i++;
      s.counts[i]!++;
      s.sum += seconds;
      s.count++;
    },
  };
}
