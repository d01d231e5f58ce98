// Warnings about bad requests, rate-limited: a flood of 429,000 malformed requests once
// wrote as many lines. The first of each kind in an interval is logged at once, with its
// example; the others are counted, and one line at the end of the interval says how
// many there were and shows the last example. Metrics still count every one.

import type { Logger } from './logger.ts';

export interface SampledWarning {
  warn(fields: Record<string, unknown>, message: string): void;
  stop(): void;
}

export function sampledWarning(logger: Logger, intervalMs = 10_000): SampledWarning {
  // Per message: how many were suppressed since the last line, and the last example.
  const suppressed = new Map<string, { count: number; example: Record<string, unknown> }>();
  const logged = new Set<string>();
  const timer = setInterval(() => {
    for (const [message, { count, example }] of suppressed) {
      logger.warn({ ...example, suppressed: count, intervalSeconds: intervalMs / 1000 }, `${message} (more)`);
    }
    suppressed.clear();
    logged.clear();
  }, intervalMs);
  timer.unref();
  return {
    warn(fields, message) {
      if (!logged.has(message)) {
        logged.add(message);
        logger.warn(fields, message);
        return;
      }
      const entry = suppressed.get(message);
      if (entry) {
        entry.count++;
        entry.example = fields;
      } else suppressed.set(message, { count: 1, example: fields });
    },
    stop: () => clearInterval(timer),
  };
}
