// The app's routing on node:http: four endpoints, everything else 404 in JSON, and an
// exception in a handler a 500 in JSON, logged, never a crash or a hung connection.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReviewDecoder } from '../../../src/admission/decode.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';
import { noClusterFacts } from '../../../src/review/decide.ts';
import { createApp, type Readiness } from '../../../src/server/app.ts';
import { builtinSnapshot } from '../../helpers/snapshots.ts';

let readiness: () => Readiness = () => ({ ready: true });
const logged: string[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  const logger = createLogger('error', {
    write: (line: string) => {
      logged.push(line);
    },
  });
  const app = createApp({
    decideDeps: { snapshot: () => builtinSnapshot(), resolveFacts: noClusterFacts },
    decoder: createReviewDecoder(),
    logger,
    metrics: createMetrics({ collectDefaults: false }),
    readiness: () => readiness(),
    maxBodyBytes: 1024,
    maxInFlightBytes: 64 * 1024 * 1024,
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('routes', () => {
  it('GET /healthz says ok; HEAD answers the same without a body', async () => {
    const get = await fetch(`${base}/healthz`);
    expect([get.status, get.headers.get('content-type'), await get.text()]).toEqual([
      200,
      'text/plain; charset=utf-8',
      'ok',
    ]);
    const head = await fetch(`${base}/healthz`, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length'), await head.text()]).toEqual([200, '2', '']);
  });

  it('GET /readyz is 503 with the reason while not ready', async () => {
    readiness = () => ({ ready: false, reason: 'not yet synced: ImagePolicy' });
    const res = await fetch(`${base}/readyz?verbose`);
    expect([res.status, await res.json()]).toEqual([503, { ready: false, reason: 'not yet synced: ImagePolicy' }]);
    readiness = () => ({ ready: true });
  });

  it('GET /metrics in the Prometheus text format', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toContain('# TYPE bulwark_admission_reviews_total counter');
  });

  it.each([
    ['POST', '/healthz'],
    ['GET', '/validate'],
    ['PUT', '/validate'],
    ['GET', '/nope'],
    ['DELETE', '/metrics'],
  ])('%s %s is 404 in JSON', async (method, path) => {
    const res = await fetch(`${base}${path}`, {
      method,
      ...(method === 'GET' || method === 'DELETE' ? {} : { body: '{}' }),
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: {
        code: 'NOT_FOUND',
        message: 'no such endpoint: POST /validate, /mutate, GET /healthz, /readyz, /metrics',
      },
    });
  });

  it('an exception in a handler is a logged 500 in JSON, and the server serves on', async () => {
    readiness = () => {
      throw new Error('readiness exploded');
    };
    const res = await fetch(`${base}/readyz`);
    expect([res.status, await res.json()]).toEqual([500, { error: { code: 'INTERNAL', message: 'Internal error' } }]);
    expect(logged.join('')).toContain('readiness exploded');
    readiness = () => ({ ready: true });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });
});
