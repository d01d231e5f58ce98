// Prometheus metrics on a registry of our own (not prom-client's global one), so tests
// and several servers in one process do not share counters. What a dashboard and the
// chart's PrometheusRule read: decisions (no rows for rules that had nothing to say),
// latency, image-verification cache and registry latency, the serving certificate's
// expiry and whether each policy informer is synced.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Verdict } from '../decision/verdict.ts';
import { labelHistogram } from './label-histogram.ts';

export type RegistryOutcome = '2xx' | '3xx' | '4xx' | '5xx' | 'error';
export type CacheLookup = 'hit' | 'miss' | 'merged';
/**
 * Why a request got no decision: malformed (400), unreadable (400), too_large (413), busy
 * (429, the body budget was spent), or error (a decision failed and denied, fail closed).
 */
export type RejectReason = 'malformed' | 'unreadable' | 'too_large' | 'busy' | 'error';
/** The protocol a request came by, as ALPN names it. */
export type HttpProtocol = 'h2' | 'http/1.1' | 'http/1.0';

export interface Metrics {
  registry: Registry;
  /** Records one decided review: per-rule outcomes and the overall latency. */
  observeReview(verdict: Verdict, operation: string, seconds: number): void;
  /** Records a request rejected before a decision (400, 413) or a fail-closed error. */
  observeRejected(reason: RejectReason): void;
  /** Records a connection closed at once because maxConnections were open. */
  observeDroppedConnection(): void;
  /** Records one request to the HTTPS port and the protocol it came by. */
  observeHttpRequest(protocol: HttpProtocol): void;
  /** Records one HTTP request to an image registry. */
  observeRegistryRequest(purpose: string): void;
  /** Records how one registry request ended and how long it took. */
  observeRegistryResponse(purpose: string, outcome: RegistryOutcome, seconds: number): void;
  /** Records one image-verification cache lookup. */
  observeCacheLookup(result: CacheLookup): void;
  /** The serving certificate's notAfter (epoch seconds), on load and on every reload. */
  setCertificateExpiry(epochSeconds: number): void;
  /** Where this replica's view of the loops' Lease (leading, following, failing) is read at scrape time. */
  watchLease(state: () => string): void;
  /** Where the informers' state is read at scrape time. */
  watchSync(state: () => SyncState): void;
  /** The outcome of one drift audit scan: drifted objects by reason, sealed objects, its duration. */
  /** One outcome of the outgoing notification webhook: delivered, retried, failed, dropped. */
  observeNotification(outcome: string): void;
  /** The drift audit's findings now (after a scan, or a watch event that changed them). */
  setDrift(drift: Readonly<Record<string, number>>, sealed: number): void;
  observeScan(seconds: number): void;
  /** Running Pods whose images no longer pass, by their worst result, at the last audit scan. */
  setRunningPodImages(pods: Readonly<Record<'fail' | 'error' | 'warn', number>>): void;
  /** Whether the last audit scan listed every locked object / running Pod (false: a list failed or kept expiring). */
  setAuditListingComplete(listing: 'locked-objects' | 'running-pods', complete: boolean): void;
  /** A lock admitted without a record of who locked it (no key yet, or the write failed). */
  observeAttributionFailure(why: string): void;
  /** A change admitted under an unlock without its record (no key yet, or the write failed): the audit reports it. */
  observeUnlockedChangeFailure(why: string): void;
}

/** The policy sources, those not synced (Bulwark refuses) and those whose watch is broken now. */
export interface SyncState {
  sources: readonly string[];
  pending: readonly string[];
  broken?: readonly string[];
}

export interface MetricsOptions {
  collectDefaults?: boolean;
  /** Label decisions with the policy that made them (one series per policy). */
  policyLabel?: boolean;
}

/**
 * Increments of one counter by a key that stands for their labels, added to the counter
 * when it is collected (scraped), so that counting is a map lookup.
 */
function pendingCounts<L extends Record<string, string>>(): {
  add(key: string, labels: () => L): void;
  flush(counter: { inc(labels: L, value: number): void }): void;
} {
  const pending = new Map<string, { labels: L; count: number }>();
  return {
    add(key, labels) {
      const row = pending.get(key);
      if (row) row.count++;
      else pending.set(key, { labels: labels(), count: 1 });
    },
    flush(counter) {
      for (const { labels, count } of pending.values()) if (count > 0) counter.inc(labels, count);
      // The rows stay for the next increments (the label combinations are few), their counts reset.
      for (const row of pending.values()) row.count = 0;
    },
  };
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.collectDefaults ?? true) collectDefaultMetrics({ register: registry, prefix: 'bulwark_' });
  const policyLabel = options.policyLabel ?? false;
  // Per-review counts are kept in maps and handed to prom-client when scraped: its inc()
  // hashes and validates the label object every time, microseconds per review (issue 19).
  const requestCounts = pendingCounts();
  const reviewCounts = pendingCounts();
  new Counter({
    name: 'bulwark_admission_requests_total',
    help:
      'Admission reviews by rule and decision (allow, deny, warn, audit, exempt, unlocked, lifecycle), ' +
      'for the rules that had something to decide',
    labelNames: policyLabel ? ['rule', 'decision', 'operation', 'policy'] : ['rule', 'decision', 'operation'],
    registers: [registry],
    collect() {
      requestCounts.flush(this);
    },
  });
  new Counter({
    name: 'bulwark_admission_reviews_total',
    help: 'Admission reviews by overall outcome',
    labelNames: ['allowed', 'operation'] as const,
    registers: [registry],
    collect() {
      reviewCounts.flush(this);
    },
  });
  const latency = labelHistogram({
    name: 'bulwark_admission_duration_seconds',
    help: 'Time from decoded review to encoded response',
    label: 'allowed',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registry,
  });
  const rejected = new Counter({
    name: 'bulwark_admission_rejected_total',
    help: 'Requests answered without a decision (malformed, unreadable, too_large, busy) or denied on an error',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const httpRequests = new Counter({
    name: 'bulwark_http_requests_total',
    help: 'Requests to the HTTPS port, by protocol (h2, http/1.1): whether the apiserver multiplexes its reviews',
    labelNames: ['protocol'] as const,
    registers: [registry],
  });
  // Children looked up once: this is counted on every request.
  const byProtocol = {
    h2: httpRequests.labels('h2'),
    'http/1.1': httpRequests.labels('http/1.1'),
    'http/1.0': httpRequests.labels('http/1.0'),
  };
  const dropped = new Counter({
    name: 'bulwark_connections_dropped_total',
    help: 'Connections closed on arrival because the maximum number of connections was open',
    registers: [registry],
  });
  const registryRequests = new Counter({
    name: 'bulwark_registry_requests_total',
    help: 'HTTP requests to image registries, by purpose (manifest, blob, referrers, token)',
    labelNames: ['purpose'] as const,
    registers: [registry],
  });
  const notifications = new Counter({
    name: 'bulwark_notifications_total',
    help:
      'Outgoing notifications of UnlockRequest transitions: delivered, retried (an attempt failed), ' +
      'failed (given up), dropped (queue full). They never block admission',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  for (const outcome of ['delivered', 'retried', 'failed', 'dropped']) notifications.inc({ outcome }, 0);
  const emergencyUnlocks = new Counter({
    name: 'bulwark_emergency_unlocks_total',
    help: 'Changes let through by an emergency UnlockRequest (each must be reviewed afterwards)',
    registers: [registry],
  });
  const registryLatency = new Histogram({
    name: 'bulwark_registry_request_duration_seconds',
    help: 'Time of one HTTP request to an image registry, by purpose and outcome (status class, or error)',
    labelNames: ['purpose', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const cacheLookups = new Counter({
    name: 'bulwark_image_verification_cache_total',
    help: 'Image-verification cache lookups: hit, miss (a registry round), merged (joined a round in flight)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const certificateExpiry = new Gauge({
    name: 'bulwark_tls_certificate_expiry_timestamp_seconds',
    help: 'When the serving certificate expires (its notAfter, epoch seconds)',
    registers: [registry],
  });
  let syncState: (() => SyncState) | undefined;
  new Gauge({
    name: 'bulwark_informer_synced',
    help: 'Whether a policy informer has listed and watches (1) or not (0): unsynced, Bulwark denies with 503',
    labelNames: ['informer'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const state = syncState?.();
      for (const source of state?.sources ?? [])
        this.set({ informer: source }, state?.pending.includes(source) ? 0 : 1);
    },
  });
  new Gauge({
    name: 'bulwark_informer_watch_broken',
    help:
      'Whether a policy informer has lost its watch and is resuming it (1): decisions come from its last ' +
      'synced state for the resync grace, then it counts as unsynced',
    labelNames: ['informer'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const state = syncState?.();
      for (const source of state?.sources ?? [])
        this.set({ informer: source }, state?.broken?.includes(source) ? 1 : 0);
    },
  });
  let leaseState: (() => string) | undefined;
  new Gauge({
    name: 'bulwark_controller_lease',
    help:
      "This replica and the loops' Lease: leading (runs the status, seal and drift-audit loops), following " +
      '(another replica does), failing (cannot read or write it). No replica leading: the loops are paused',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const now = leaseState?.();
      if (now) for (const state of ['leading', 'following', 'failing']) this.set({ state }, state === now ? 1 : 0);
    },
  });
  const drift = new Gauge({
    name: 'bulwark_drift_objects',
    help:
      'Locked objects found changed, unlabelled or deleted outside the rules, or with a seal that is not ' +
      "Bulwark's, at the last audit scan",
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const sealed = new Gauge({
    name: 'bulwark_sealed_objects',
    help: 'Locked objects whose content matched their seal at the last audit scan',
    registers: [registry],
  });
  const scan = new Histogram({
    name: 'bulwark_audit_scan_seconds',
    help: 'Duration of one drift audit scan (discovery, lists, seals, reports)',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const runningPods = new Gauge({
    name: 'bulwark_running_pods_failing_images',
    help:
      'Running Pods with an image that no longer passes the ImagePolicies in force, at the last audit scan, by ' +
      'worst result: fail (would be denied now), error (could not be verified: registry, Secret, time), warn',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  for (const result of ['fail', 'error', 'warn']) runningPods.set({ result }, 0);
  const listingComplete = new Gauge({
    name: 'bulwark_audit_listing_complete',
    help:
      '1 when the last audit scan listed every object of the listing (locked-objects, running-pods) to the end; 0 ' +
      'when a list failed or its continue token kept expiring (what was not reached keeps its last findings)',
    labelNames: ['listing'] as const,
    registers: [registry],
  });
  const attributionFailures = new Counter({
    name: 'bulwark_lock_attribution_failures_total',
    help: 'Locks admitted without a record of who locked them (why: no-key, write-failed); the lock stands',
    labelNames: ['why'] as const,
    registers: [registry],
  });
  const unlockedChangeFailures = new Counter({
    name: 'bulwark_unlocked_change_record_failures_total',
    help:
      'Changes admitted under an unlock without a record of them (why: no-key, write-failed); ' +
      'the audit reports such a change as drift (changed-outside-unlock)',
    labelNames: ['why'] as const,
    registers: [registry],
  });
  return {
    registry,
    observeAttributionFailure(why) {
      attributionFailures.inc({ why });
    },
    observeUnlockedChangeFailure(why) {
      unlockedChangeFailures.inc({ why });
    },
    watchLease(state) {
      leaseState = state;
    },
    observeNotification(outcome) {
      notifications.inc({ outcome });
    },
    setDrift(found, sealedObjects) {
      for (const reason of ['changed', 'changed-outside-unlock', 'unlabelled', 'deleted', 'seal-invalid'])
        drift.set({ reason }, found[reason] ?? 0);
      sealed.set(sealedObjects);
    },
    observeScan(seconds) {
      scan.observe(seconds);
    },
    setRunningPodImages(pods) {
      for (const result of ['fail', 'error', 'warn'] as const) runningPods.set({ result }, pods[result]);
    },
    setAuditListingComplete(listing, complete) {
      listingComplete.set({ listing }, complete ? 1 : 0);
    },
    observeRegistryRequest(purpose) {
      registryRequests.inc({ purpose });
    },
    observeRegistryResponse(purpose, outcome, seconds) {
      registryLatency.observe({ purpose, outcome }, seconds);
    },
    observeCacheLookup(result) {
      cacheLookups.inc({ result });
    },
    setCertificateExpiry(epochSeconds) {
      certificateExpiry.set(epochSeconds);
    },
    watchSync(state) {
      syncState = state;
    },
    observeReview(verdict, operation, seconds) {
      for (const o of verdict.outcomes) {
        // A rule with nothing to say about this request is not a row anyone charts.
        if (o.decision === 'skip') continue;
        const policy = policyLabel ? (o.policy ?? '') : undefined;
        requestCounts.add(`${o.rule}\0${o.decision}\0${operation}\0${policy ?? ''}`, () => ({
          rule: o.rule,
          decision: o.decision,
          operation,
          ...(policy !== undefined ? { policy } : {}),
        }));
      }
      const allowed = verdict.allowed ? 'true' : 'false';
      reviewCounts.add(`${allowed}\0${operation}`, () => ({ allowed, operation }));
      latency.observe(allowed, seconds);
      if (verdict.allowed && verdict.auditAnnotations['unlock-emergency'] === 'true') emergencyUnlocks.inc();
    },
    observeRejected(reason) {
      rejected.inc({ reason });
    },
    observeDroppedConnection() {
      dropped.inc();
    },
    observeHttpRequest(protocol) {
      byProtocol[protocol].inc();
    },
  };
}
