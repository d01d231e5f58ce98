// Prometheus metrics on a registry of our own (not prom-client's global one), so tests
// and several servers in one process do not share counters.

import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Verdict } from '../decision/verdict.ts';

export interface Metrics {
  registry: Registry;
  /** Records one decided review: per-rule outcomes and the overall latency. */
  observeReview(verdict: Verdict, operation: string, seconds: number): void;
  /** Records a request rejected before a decision (400, 413) or a fail-closed error. */
  observeRejected(reason: 'malformed' | 'too_large' | 'error'): void;
  /** Records one HTTP request to an image registry. */
  observeRegistryRequest(purpose: string): void;
}

export function createMetrics(options: { collectDefaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.collectDefaults ?? true) collectDefaultMetrics({ register: registry, prefix: 'bulwark_' });
  const requests = new Counter({
    name: 'bulwark_admission_requests_total',
    help: 'Admission reviews by rule and decision (allow, deny, warn, audit, skip)',
    labelNames: ['rule', 'decision', 'operation'] as const,
    registers: [registry],
  });
  const reviews = new Counter({
    name: 'bulwark_admission_reviews_total',
    help: 'Admission reviews by overall outcome',
    labelNames: ['allowed', 'operation'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'bulwark_admission_duration_seconds',
    help: 'Time from decoded review to encoded response',
    labelNames: ['allowed'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'bulwark_admission_rejected_total',
    help: 'Requests answered without a decision (malformed, too large) or denied on an internal error',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const registryRequests = new Counter({
    name: 'bulwark_registry_requests_total',
    help: 'HTTP requests to image registries, by purpose (manifest, blob, referrers, token)',
    labelNames: ['purpose'] as const,
    registers: [registry],
  });
  const emergencyUnlocks = new Counter({
    name: 'bulwark_emergency_unlocks_total',
    help: 'Changes let through by an emergency UnlockRequest (each must be reviewed afterwards)',
    registers: [registry],
  });
  return {
    registry,
    observeRegistryRequest(purpose) {
      registryRequests.inc({ purpose });
    },
    observeReview(verdict, operation, seconds) {
      for (const o of verdict.outcomes) requests.inc({ rule: o.rule, decision: o.decision, operation });
      reviews.inc({ allowed: String(verdict.allowed), operation });
      latency.observe({ allowed: String(verdict.allowed) }, seconds);
      if (verdict.allowed && verdict.auditAnnotations['unlock-emergency'] === 'true') emergencyUnlocks.inc();
    },
    observeRejected(reason) {
      rejected.inc({ reason });
    },
  };
}
