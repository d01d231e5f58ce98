// The HTTP/2 side of the front door's limits (secure-server.ts, connection-limits.ts), with
// short limits and node:http2 clients: a slow stream is reset without taking its session
// down, a session that never sends a request or sits idle is closed, and one session cannot
// have more streams in flight than SETTINGS_MAX_CONCURRENT_STREAMS allows.

import type { ClientHttp2Session } from 'node:http2';
import type { RequestListener } from 'node:http';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateCertificates, type GeneratedCertificates } from '../../../src/server/certificates.ts';
import { capConnections, type ConnectionLimits } from '../../../src/server/connection-limits.ts';
import { createWebhookServer, type WebhookServer } from '../../../src/server/secure-server.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';
import { h2Connect, h2Request } from '../../helpers/http2.ts';

const LIMITS: ConnectionLimits = {
  headersTimeoutMs: 400,
  requestTimeoutMs: 600,
  keepAliveTimeoutMs: 800,
  checkIntervalMs: 100,
  maxConcurrentStreams: 2,
  maxConnections: 50,
};

let certs: GeneratedCertificates;
let server: WebhookServer | undefined;
const sessions: ClientHttp2Session[] = [];

beforeAll(async () => {
  certs = await generateCertificates({ ipAddresses: ['127.0.0.1'] });
});

afterEach(async () => {
  for (const s of sessions.splice(0)) s.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** Reads the body whole, then answers; the origin to connect to. */
async function listening(app: RequestListener = echo): Promise<string> {
  server = createWebhookServer({ http2: true, limits: LIMITS, tls: { cert: certs.certPem, key: certs.keyPem } }, app);
  capConnections(server, LIMITS, { logger: createLogger('silent'), metrics: createMetrics() });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `https://127.0.0.1:${(server!.address() as { port: number }).port}`;
}

const echo: RequestListener = (req, res) => {
  req.resume();
  req.on('end', () => res.end('{}'));
};

async function session(origin: string): Promise<ClientHttp2Session> {
  const s = await h2Connect(origin, { ca: certs.caCertPem });
  sessions.push(s);
  return s;
}

const closedWithin = (s: ClientHttp2Session) => {
  const started = performance.now();
  return new Promise<number>((resolve) => s.once('close', () => resolve(performance.now() - started)));
};

describe('HTTP/2 limits', () => {
  it('resets a stream whose body does not all arrive within the request timeout; the session goes on', async () => {
    const s = await session(await listening());
    const slow = s.request({ ':method': 'POST', ':path': '/validate' });
    slow.write('{');
    const trickle = setInterval(() => slow.write(' '), 100);
    const reset = new Promise<number>((resolve) => slow.on('close', () => resolve(slow.rstCode ?? -1)));
    slow.on('error', () => {});
    // Meanwhile the same session answers others.
    expect((await h2Request(s, { method: 'POST', path: '/validate', body: '{}' })).status).toBe(200);
    const started = performance.now();
    expect(await reset).toBe(8); // NGHTTP2_CANCEL
    clearInterval(trickle);
    expect(performance.now() - started).toBeLessThan(LIMITS.requestTimeoutMs + 1_000);
    expect((await h2Request(s, { method: 'POST', path: '/validate', body: '{}' })).status).toBe(200);
  });

  it('closes a session that sends no request within the header timeout', async () => {
    const s = await session(await listening());
    expect(await closedWithin(s)).toBeLessThan(LIMITS.headersTimeoutMs + 1_000);
  });

  it('closes a session left idle for the keep-alive time', async () => {
    const s = await session(await listening());
    expect((await h2Request(s, { path: '/healthz' })).status).toBe(200);
    const idleFor = await closedWithin(s);
    expect(idleFor).toBeGreaterThanOrEqual(LIMITS.keepAliveTimeoutMs - 100);
    expect(idleFor).toBeLessThan(LIMITS.keepAliveTimeoutMs + 1_500);
  });

  it('has no more streams of one session in flight than maxConcurrentStreams', async () => {
    let inFlight = 0;
    let most = 0;
    const held: (() => void)[] = [];
    const s = await session(
      await listening((req, res) => {
        most = Math.max(most, ++inFlight);
        req.resume();
        held.push(() => {
          inFlight--;
          res.end('{}');
        });
      }),
    );
    expect(s.remoteSettings.maxConcurrentStreams).toBe(2);
    const answers = Array.from({ length: 6 }, () => h2Request(s, { method: 'POST', path: '/validate', body: '{}' }));
    const settled = Promise.allSettled(answers);
    for (let released = 0; released < 6; ) {
      await new Promise((r) => setTimeout(r, 50));
      for (const release of held.splice(0)) {
        release();
        released++;
      }
    }
    const outcomes = await settled;
    expect(most).toBe(2);
    expect(outcomes.every((o) => o.status === 'fulfilled' && o.value.status === 200)).toBe(true);
  });
});
