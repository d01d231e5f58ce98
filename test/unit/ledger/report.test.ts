// The drift reports (ledger/report.ts) against a scripted API: an Event per finding, once;
// a PolicyReport per namespace, emptied when the drift is gone. Without the PolicyReport CRD
// Bulwark says so once (not once per namespace and scan), writes no reports, and picks the
// CRD up once it is installed. (The real apiserver: test/e2e/drift-audit.test.ts.)

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BaseError } from '../../../src/errors.ts';
import type { CallResult } from '../../../src/cluster/kube-client.ts';
import {
  createReporter,
  MAX_RESULTS,
  OMITTED_ANNOTATION,
  REDISCOVER_MS,
  type Drift,
} from '../../../src/ledger/report.ts';
import { createLogger } from '../../../src/observability/logger.ts';

const GROUP = '/apis/wgpolicyk8s.io/v1alpha2';

function scriptedApi(options: { crd: boolean }) {
  const calls: { method: string; path: string; body?: unknown }[] = [];
  const reports = new Map<string, unknown>();
  const api = {
    crd: options.crd,
    call: async (method: string, path: string, o: { body?: string }): Promise<CallResult> => {
      const body = o.body ? JSON.parse(o.body) : undefined;
      calls.push({ method, path, body });
      if (path.startsWith('/api/v1/namespaces/')) return { status: 201, body: {} };
      if (!api.crd && path.startsWith(GROUP))
        throw new BaseError('KUBE_API_BAD_RESPONSE', `${method} ${path}: HTTP 404, response is not JSON`);
      if (path === GROUP) return { status: 200, body: { kind: 'APIResourceList' } };
      if (method === 'GET')
        return reports.has(path)
          ? { status: 200, body: { metadata: { resourceVersion: '1' }, ...(reports.get(path) as object) } }
          : { status: 404, body: { kind: 'Status' } };
      reports.set(method === 'POST' ? `${path}/bulwark-drift` : path, body);
      return { status: method === 'POST' ? 201 : 200, body };
    },
  };
  return { api, calls, reports };
}

function capturedLogger() {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

const drift = (namespace: string, name: string): Drift => ({
  target: { apiVersion: 'v1', kind: 'ConfigMap', namespace, name, uid: `uid-${name}` },
  reason: 'changed',
  message: `ConfigMap ${namespace}/${name} changed outside the rules`,
});
const settle = () => new Promise((r) => setImmediate(r));

describe('drift reports', () => {
  it('writes an Event once per finding and a PolicyReport per namespace, emptied when the drift is gone', async () => {
    const { api, calls, reports } = scriptedApi({ crd: true });
    const { logger } = capturedLogger();
    const reporter = createReporter({ client: api, logger });
    let requests = 0;
    await reporter.report([drift('a', 'x'), drift('b', 'y')], (n) => (requests += n));
    await reporter.report([drift('a', 'x')], (n) => (requests += n));
    expect(calls.filter((c) => c.path.endsWith('/events'))).toHaveLength(2);
    const a = reports.get(`${GROUP}/namespaces/a/policyreports/bulwark-drift`) as { results: { rule: string }[] };
    expect(a.results.map((r) => r.rule)).toEqual(['changed']);
    const b = reports.get(`${GROUP}/namespaces/b/policyreports/bulwark-drift`) as { summary: { fail: number } };
    expect(b.summary.fail).toBe(0);
    expect(requests).toBeGreaterThan(0);
  });

  it('without the CRD: says so once, writes no report, and finds the CRD once installed', async () => {
    const { api, calls, reports } = scriptedApi({ crd: false });
    const { logger, lines } = capturedLogger();
    let clock = 0;
    const reporter = createReporter({ client: api, logger, now: () => clock });
    for (let scan = 0; scan < 5; scan++) await reporter.report([drift('a', 'x'), drift('b', 'y')], () => {});
    await reporter.report([], () => {});
    await settle();
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings.map((l) => l.msg)).toEqual([
      'audit: no PolicyReport CRD (wgpolicyk8s.io/v1alpha2) installed: drift is reported as Events and metrics only',
    ]);
    // One discovery request per report with findings; none for an empty one within the interval.
    expect(calls.filter((c) => c.path.startsWith(GROUP)).map((c) => c.path)).toEqual(Array(5).fill(GROUP));
    expect(reports.size).toBe(0);
    api.crd = true;
    clock += REDISCOVER_MS;
    await reporter.report([drift('a', 'x')], () => {});
    await settle();
    expect(reports.has(`${GROUP}/namespaces/a/policyreports/bulwark-drift`)).toBe(true);
    expect(lines.some((l) => l.msg === 'audit: the PolicyReport CRD is installed now; writing reports')).toBe(true);
  });

  it('asks nothing while there is nothing to report, found or not', async () => {
    const { api, calls } = scriptedApi({ crd: false });
    const reporter = createReporter({ client: api, logger: capturedLogger().logger });
    await reporter.report([], () => {});
    expect(calls).toEqual([]);
  });

  it('reports other findings with their own result, severity and properties, counted in the summary', async () => {
    const { api, calls, reports } = scriptedApi({ crd: true });
    const reporter = createReporter({ client: api, logger: capturedLogger().logger });
    const target = { apiVersion: 'v1', kind: 'Pod', namespace: 'a', name: 'p', uid: 'uid-p' };
    const finding = (result: 'fail' | 'error' | 'warn', field: string) => ({
      target,
      policy: 'bulwark-images',
      reason: 'shop',
      category: 'Images',
      result,
      message: `image at ${field}: ${result}`,
      properties: { field },
    });
    await reporter.report([drift('a', 'x')], () => {}, [
      finding('fail', 'spec.containers[0].image'),
      finding('error', 'spec.containers[1].image'),
      finding('warn', 'spec.containers[2].image'),
    ]);
    const a = reports.get(`${GROUP}/namespaces/a/policyreports/bulwark-drift`) as {
      results: { policy: string; result: string; severity: string; properties?: Record<string, string> }[];
      summary: Record<string, number>;
    };
    expect(a.results.map((r) => [r.policy, r.result, r.severity, r.properties?.field])).toEqual([
      ['bulwark-images', 'fail', 'high', 'spec.containers[0].image'],
      ['bulwark-seals', 'fail', 'high', undefined],
      ['bulwark-images', 'error', 'medium', 'spec.containers[1].image'],
      ['bulwark-images', 'warn', 'low', 'spec.containers[2].image'],
    ]);
    expect(a.summary).toEqual({ pass: 0, fail: 2, warn: 1, error: 1, skip: 0 });
    // Their Events are written where they are found (running-pods.ts), not here: only the drift's.
    expect(calls.filter((c) => c.path.endsWith('/events'))).toHaveLength(1);
  });

  it('lists at most MAX_RESULTS results, the worst first, counts them all and says how many it left out', async () => {
    const { api, reports } = scriptedApi({ crd: true });
    const reporter = createReporter({ client: api, logger: capturedLogger().logger });
    const pods = Array.from({ length: MAX_RESULTS + 1 }, (_, i) => ({
      target: { apiVersion: 'v1', kind: 'Pod', namespace: 'a', name: `p${i}`, uid: `uid-${i}` },
      policy: 'bulwark-images',
      reason: 'shop',
      result: i === MAX_RESULTS ? ('fail' as const) : ('warn' as const),
      message: 'm',
    }));
    await reporter.report([], () => {}, pods);
    const a = reports.get(`${GROUP}/namespaces/a/policyreports/bulwark-drift`) as {
      metadata: { annotations?: Record<string, string> };
      results: { result: string }[];
      summary: Record<string, number>;
    };
    expect(a.results).toHaveLength(MAX_RESULTS);
    expect(a.results[0]!.result).toBe('fail');
    expect(a.summary).toMatchObject({ fail: 1, warn: MAX_RESULTS });
    expect(a.metadata.annotations).toEqual({ [OMITTED_ANNOTATION]: '1' });
  });
});
