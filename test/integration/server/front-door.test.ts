// The front door against real, hostile clients, with `bulwark serve` as its own process:
// silent and slow TLS clients are cut off within the header timeout (and do not slow the
// apiserver's reviews down), connections are capped, and 100 concurrent 7 MiB reviews
// stay within the chart's memory limit, each answered within the decision deadline.

import { spawn } from 'node:child_process';
import { Agent, type RequestOptions, request } from 'node:https';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG } from '../../../src/config/schema.ts';
import { DEFAULT_CONNECTION_LIMITS } from '../../../src/server/connection-limits.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { startServeProcess, type ServeProcess } from '../../helpers/serve-process.ts';

const SLOW_CLIENTS = join(import.meta.dirname, '..', '..', 'helpers', 'slow-clients.ts');
const HEADERS_TIMEOUT_MS = DEFAULT_CONNECTION_LIMITS.headersTimeoutMs;
const CHART_MEMORY_LIMIT_MIB = 512;
const DECISION_DEADLINE_MS = DEFAULT_CONFIG.decisionTimeoutSeconds * 1000;

function validateRequest(server: ServeProcess, body: string, agent: Agent | false): RequestOptions {
  return {
    host: '127.0.0.1',
    port: server.port,
    ca: server.ca,
    servername: 'localhost',
    method: 'POST',
    path: '/validate',
    agent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  };
}

function post(
  server: ServeProcess,
  body: string,
  agent: Agent | false,
): Promise<{ status: number; ms: number; text: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(validateRequest(server, body, agent), (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          ms: performance.now() - started,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

function openTls(server: ServeProcess): Promise<{ socket: TLSSocket; closedAfterMs: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server.port, ca: server.ca, servername: 'localhost' });
    socket.on('error', () => {}); // a reset is one of the ways to be cut off
    socket.once('secureConnect', () => {
      const opened = performance.now();
      resolve({ socket, closedAfterMs: new Promise((r) => socket.once('close', () => r(performance.now() - opened))) });
    });
    socket.once('error', reject);
  });
}

function metricsText(server: ServeProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    request(
      { host: '127.0.0.1', port: server.port, ca: server.ca, servername: 'localhost', path: '/metrics' },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(text));
      },
    )
      .on('error', reject)
      .end();
  });
}

async function latencies(
  server: ServeProcess,
  agent: Agent,
  body: string,
  count: number,
  stop = () => false,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count && !stop(); i++) {
    const r = await post(server, body, agent);
    expect(r.status).toBe(200);
    out.push(r.ms);
  }
  return out;
}

describe('silent and slow clients', () => {
  let server: ServeProcess;
  beforeAll(async () => {
    server = await startServeProcess();
  });
  afterAll(() => server.stop());

  it('closes TLS connections that never send a byte within the header timeout', async () => {
    const idle = await Promise.all(Array.from({ length: 50 }, () => openTls(server)));
    const closed = await Promise.all(idle.map((c) => c.closedAfterMs));
    expect(Math.max(...closed)).toBeLessThan(HEADERS_TIMEOUT_MS + 2_000);
  });

  it('drops 500 clients trickling header bytes within the header timeout, answering reviews meanwhile', async () => {
    const body = JSON.stringify(loadReview('configmap-apply-changed'));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const slow = spawn(process.execPath, [SLOW_CLIENTS, String(server.port), server.caFile, '500'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    slow.stdout.on('data', (c: Buffer) => (output += c));
    await vi.waitFor(() => expect(output).toContain('connected'), { timeout: 60_000, interval: 100 });
    try {
      // While at least half of them are still connected (each is cut about 5 s after its first byte).
      const samples = await latencies(server, agent, body, 300, () => output.includes('half closed'));
      expect(samples.length).toBeGreaterThan(30);
      await vi.waitFor(() => expect(output).toContain('closedAfterMs'), { timeout: 60_000, interval: 200 });
      const closed = JSON.parse(output.split('\n').find((l) => l.startsWith('{'))!).closedAfterMs as number[];
      // The first byte comes at once, the headers timeout counts from it, checked every second.
      expect(Math.max(...closed)).toBeLessThan(HEADERS_TIMEOUT_MS + 3_000);
      // What they cost the well-formed reviews' p99 (issue 13: at most 2x) is measured by
      // `npm run bench` (bench/slow-clients.ts): on the shared two-core machine one before/after
      // pair swings from 0.7x to 5x with the other helpers' load, so it takes rounds and a median.
    } finally {
      slow.kill();
      agent.destroy();
    }
  }, 240_000);
});

describe('connection cap', () => {
  it('closes connections beyond --max-connections, with a log line and a metric', async () => {
    const server = await startServeProcess(['--max-connections', '3']);
    try {
      const held = await Promise.all(Array.from({ length: 3 }, () => openTls(server)));
      const extra = connect({ host: '127.0.0.1', port: server.port, ca: server.ca, servername: 'localhost' });
      const outcome = await new Promise<string>((resolve) => {
        extra.once('secureConnect', () => resolve('connected'));
        extra.once('error', () => resolve('refused'));
        extra.once('close', () => resolve('refused'));
      });
      expect(outcome).toBe('refused');
      for (const c of held) c.socket.destroy();
      await expect
        .poll(() => server.lines.find((l) => String(l.msg).startsWith('connection limit reached')), { timeout: 5000 })
        .toMatchObject({ maxConnections: 3 });
      expect(await metricsText(server)).toMatch(/^bulwark_connections_dropped_total 1$/m);
    } finally {
      await server.stop();
    }
  });
});

describe('bounded memory', () => {
  // The client here encrypts 700 MiB on the same two cores as the server, so answers are
  // timed from the moment a request's body was sent (the server cannot answer earlier):
  // what is measured is Bulwark's own delay. A refused request's connection is closed after
  // the 429 without reading the body: a client still sending sees a write error or a reset.
  it('answers 100 concurrent 7 MiB reviews within the deadline and the memory limit', async () => {
    const server = await startServeProcess();
    try {
      const review = structuredClone(loadReview('configmap-apply-changed')) as any;
      const filler = 'x'.repeat(3.5 * 1024 * 1024);
      review.request.object.data.filler = filler;
      review.request.oldObject.data.filler = filler;
      const body = JSON.stringify(review);
      expect(body.length).toBeGreaterThan(7 * 1024 * 1024);
      // Connections opened first, as the apiserver keeps them: this measures the bodies, not 100 handshakes.
      const agent = new Agent({ keepAlive: true, maxSockets: 100 });
      await Promise.all(Array.from({ length: 100 }, () => post(server, '{}', agent)));
      const before = await server.rssMiB();
      const results = await Promise.all(Array.from({ length: 100 }, () => postTimed(server, body, agent)));
      agent.destroy();
      const peak = await server.peakRssMiB();
      const count = (what: string | number) => results.filter((r) => r.outcome === what).length;
      const slowest = Math.max(...results.map((r) => r.afterSentMs));
      console.log(
        `100 x 7 MiB: RSS ${before.toFixed(0)} -> peak ${peak.toFixed(0)} MiB; ${count(200)} decided, ` +
          `${count(429)} HTTP 429, ${count(408)} HTTP 408, ${count('cut')} cut; ` +
          `slowest answer ${slowest.toFixed(0)} ms after its body`,
      );
      // 408: node:http's request timeout, for a body the loaded client did not finish sending in 10 s.
      expect(results.every((r) => [200, 429, 408, 'cut'].includes(r.outcome))).toBe(true);
      expect(count(200)).toBeGreaterThan(0);
      expect(count(429) + count(408) + count('cut')).toBe(100 - count(200));
      expect(await metricsText(server)).toMatch(/^bulwark_admission_rejected_total\{reason="busy"\} [1-9]/m);
      expect(slowest).toBeLessThan(DECISION_DEADLINE_MS);
      expect(peak).toBeLessThan(CHART_MEMORY_LIMIT_MIB);
    } finally {
      await server.stop();
    }
  }, 240_000);
});

function postTimed(
  server: ServeProcess,
  body: string,
  agent: Agent,
): Promise<{ outcome: number | 'cut'; afterSentMs: number }> {
  return new Promise((resolve) => {
    let sent: number | undefined;
    const req = request(validateRequest(server, body, agent), (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode === 429) expect(JSON.parse(Buffer.concat(chunks).toString()).error.code).toBe('SERVER_BUSY');
        resolve({ outcome: res.statusCode ?? 0, afterSentMs: sent === undefined ? 0 : performance.now() - sent });
      });
    });
    req.on('finish', () => {
      sent = performance.now();
    });
    req.on('error', () => resolve({ outcome: 'cut', afterSentMs: 0 }));
    req.end(body);
  });
}
