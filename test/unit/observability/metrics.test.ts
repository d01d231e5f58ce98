// What a dashboard reads from /metrics: decisions without rows for rules that had nothing
// to say, the optional policy label, registry latency, cache lookups, the certificate's
// expiry and the informers' sync state.

import { describe, expect, it } from 'vitest';
import { allow, byPolicy, combine, deny } from '../../../src/decision/verdict.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';

const text = (metrics: ReturnType<typeof createMetrics>) => metrics.registry.metrics();

describe('metrics', () => {
  it('counts what each rule decided, with no rows for rules that skipped the request', async () => {
    const metrics = createMetrics({ collectDefaults: false });
    metrics.observeReview(
      combine([allow('images', 'skip'), deny('immutability', 'no'), allow('guards', 'skip')]),
      'UPDATE',
      0.001,
    );
    const out = await text(metrics);
    expect(out).toContain('bulwark_admission_requests_total{rule="immutability",decision="deny",operation="UPDATE"} 1');
    expect(out).not.toContain('decision="skip"');
    expect(out).toContain('bulwark_admission_reviews_total{allowed="false",operation="UPDATE"} 1');
  });

  it('keeps counting across scrapes (counts are handed to the counters when scraped)', async () => {
    const metrics = createMetrics({ collectDefaults: false });
    const denied = combine([deny('immutability', 'no')]);
    metrics.observeReview(denied, 'UPDATE', 0.001);
    metrics.observeReview(allow('immutability'), 'UPDATE', 0.0002);
    let out = await text(metrics);
    expect(out).toContain('bulwark_admission_requests_total{rule="immutability",decision="deny",operation="UPDATE"} 1');
    expect(out).toContain('bulwark_admission_reviews_total{allowed="true",operation="UPDATE"} 1');
    expect(out).toContain('bulwark_admission_duration_seconds_count{allowed="false"} 1');
    // A scrape with nothing new in between changes nothing.
    expect(await text(metrics)).toBe(out);
    metrics.observeReview(denied, 'UPDATE', 0.001);
    metrics.observeReview(denied, 'DELETE', 0.001);
    out = await text(metrics);
    expect(out).toContain('bulwark_admission_requests_total{rule="immutability",decision="deny",operation="UPDATE"} 2');
    expect(out).toContain('bulwark_admission_requests_total{rule="immutability",decision="deny",operation="DELETE"} 1');
    expect(out).toContain('bulwark_admission_reviews_total{allowed="false",operation="UPDATE"} 2');
    expect(out).toContain('bulwark_admission_reviews_total{allowed="true",operation="UPDATE"} 1');
    expect(out).toContain('bulwark_admission_duration_seconds_count{allowed="false"} 3');
  });

  it('labels decisions with the deciding policy only when asked', async () => {
    const verdict = byPolicy(deny('immutability', 'no'), 'prod-config');
    const plain = createMetrics({ collectDefaults: false });
    plain.observeReview(verdict, 'DELETE', 0.001);
    expect(await text(plain)).not.toContain('policy=');
    const labelled = createMetrics({ collectDefaults: false, policyLabel: true });
    labelled.observeReview(verdict, 'DELETE', 0.001);
    labelled.observeReview(allow('immutability'), 'DELETE', 0.001);
    const out = await text(labelled);
    expect(out).toContain(
      'bulwark_admission_requests_total{rule="immutability",decision="deny",operation="DELETE",policy="prod-config"} 1',
    );
    expect(out).toContain(
      'bulwark_admission_requests_total{rule="immutability",decision="allow",operation="DELETE",policy=""} 1',
    );
  });

  it(
    'keeps registry latency by purpose and outcome, cache ' + 'lookups, the certificate expiry and informer sync',
    async () => {
      const metrics = createMetrics({ collectDefaults: false });
      metrics.observeRegistryResponse('manifest', '2xx', 0.04);
      metrics.observeCacheLookup('hit');
      metrics.observeCacheLookup('miss');
      metrics.observeCacheLookup('hit');
      metrics.setCertificateExpiry(1_900_000_000);
      let pending = ['ImagePolicy'];
      let broken = ['ImmutabilityPolicy'];
      metrics.watchSync(() => ({ sources: ['ImmutabilityPolicy', 'ImagePolicy'], pending, broken }));
      let out = await text(metrics);
      expect(out).toContain(
        'bulwark_registry_request_duration_seconds_bucket{le="0.05",purpose="manifest",outcome="2xx"} 1',
      );
      expect(out).toContain('bulwark_image_verification_cache_total{result="hit"} 2');
      expect(out).toContain('bulwark_image_verification_cache_total{result="miss"} 1');
      expect(out).toContain('bulwark_tls_certificate_expiry_timestamp_seconds 1900000000');
      expect(out).toContain('bulwark_informer_synced{informer="ImmutabilityPolicy"} 1');
      expect(out).toContain('bulwark_informer_synced{informer="ImagePolicy"} 0');
      // A broken watch within its resync grace: still synced, but reported.
      expect(out).toContain('bulwark_informer_watch_broken{informer="ImmutabilityPolicy"} 1');
      expect(out).toContain('bulwark_informer_watch_broken{informer="ImagePolicy"} 0');
      pending = [];
      broken = [];
      out = await text(metrics);
      expect(out).toContain('bulwark_informer_synced{informer="ImagePolicy"} 1');
      expect(out).toContain('bulwark_informer_watch_broken{informer="ImmutabilityPolicy"} 0');
    },
  );
});
