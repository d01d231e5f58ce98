// The drain seen from a client that behaves like the apiserver: a pool of kept-alive
// connections and reviews sent back to back. No review may meet a reset connection,
// which the apiserver would report as a failed admission.

import { Agent, type Server, createServer, request } from 'node:https';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateCertificates, type GeneratedCertificates } from '../../../src/server/certificates.ts';
import { drainServer, drainTiming } from '../../../src/server/drain.ts';
import type { ClientHttp2Session } from 'node:http2';
import { DEFAULT_CONNECTION_LIMITS } from '../../../src/server/connection-limits.ts';
import { closeAllConnections, createWebhookServer, type WebhookServer } from '../../../src/server/secure-server.ts';
import { h2Connect, h2Request } from '../../helpers/http2.ts';

let certs: GeneratedCertificates;
let server: Server | undefined;

beforeAll(async () => {
  certs = await generateCertificates({ ipAddresses: ['127.0.0.1'] });
});

afterEach(() => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

/** A server answering after delayMs, as the webhook does after deciding. */
async function listening(delayMs: number): Promise<number> {
  server = createServer({ cert: certs.certPem, key: certs.keyPem, keepAliveTimeout: 95_000 }, (req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.end('{}'), delayMs));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server!.address() as { port: number }).port;
}

function openConnections(): Promise<number> {
  return new Promise((resolve, reject) => server!.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

type Outcome = 'answered' | 'closing' | 'refused' | 'reset';

function post(port: number, agent: Agent): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(
      // HTTP/1.1 explicitly: the HTTP/2 server below takes it too.
      { host: '127.0.0.1', port, method: 'POST', path: '/validate', ca: certs.caCertPem, agent },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers.connection === 'close' ? 'closing' : 'answered'));
      },
    );
    // Refused: nothing listens any more, the client goes to another replica. Anything else
    // (ECONNRESET, "socket hang up") is a review lost on a connection the server closed.
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' ? 'refused' : 'reset'));
    req.end('{"kind":"AdmissionReview"}');
  });
}

describe('draining the HTTPS (HTTP/1.1) server', () => {
  it('loses no review sent over kept-alive connections while it drains', async () => {
    const port = await listening(2);
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const outcomes: Outcome[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const outcome = await post(port, agent);
        outcomes.push(outcome);
        // Told to close: its next connection goes to another replica (the Service's endpoints
        // no longer list a terminating pod).
        if (outcome !== 'answered') return;
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    // Connections in use and kept alive (a count, not a time: the machine may be busy).
    while (outcomes.length < 20) await new Promise((resolve) => setTimeout(resolve, 20));
    const beforeDrain = outcomes.length;
    await drainServer(server!, drainTiming(2));
    stop = true;
    await Promise.all(workers);
    agent.destroy();

    expect(beforeDrain).toBeGreaterThanOrEqual(20);
    expect(outcomes.filter((o) => o === 'reset')).toEqual([]);
    expect(outcomes).toContain('closing');
  });

  it('leaves idle connections for the client to close, and ends when it has', async () => {
    const port = await listening(0);
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    await Promise.all([post(port, agent), post(port, agent), post(port, agent)]);
    let ended = false;
    const drained = drainServer(server!, drainTiming(20)).then(() => (ended = true));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(ended).toBe(false);
    expect(await openConnections()).toBeGreaterThan(0);
    const started = performance.now();
    agent.destroy(); // the apiserver's idle timeout
    await drained;
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('cuts what is left when the budget is spent', async () => {
    const port = await listening(0);
    const agent = new Agent({ keepAlive: true });
    await post(port, agent);
    const started = performance.now();
    await drainServer(server!, drainTiming(1));
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    expect(await openConnections()).toBe(0);
    agent.destroy();
  });

  it('lets a review in flight finish within the budget', async () => {
    const port = await listening(600);
    const agent = new Agent({ keepAlive: true });
    const inFlight = post(port, agent);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await drainServer(server!, drainTiming(2));
    expect(await inFlight).not.toBe('reset');
    agent.destroy();
  });
});

describe('draining the HTTP/2 server', () => {
  let h2: WebhookServer | undefined;
  const clients: ClientHttp2Session[] = [];

  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
    if (h2) closeAllConnections(h2);
    h2?.close();
    h2 = undefined;
  });

  /** The webhook's own server (HTTP/2 and HTTP/1.1), answering after delayMs (never, if negative). */
  async function listeningH2(delayMs: number): Promise<string> {
    h2 = createWebhookServer(
      {
        http2: true,
        limits: { ...DEFAULT_CONNECTION_LIMITS, maxConnections: 100 },
        tls: { cert: certs.certPem, key: certs.keyPem },
      },
      (req, res) => {
        req.resume();
        req.on('end', () => {
          if (delayMs >= 0) setTimeout(() => res.end('{}'), delayMs);
        });
      },
    );
    await new Promise<void>((resolve) => h2!.listen(0, '127.0.0.1', resolve));
    return `https://127.0.0.1:${(h2!.address() as { port: number }).port}`;
  }

  async function client(origin: string): Promise<ClientHttp2Session> {
    const c = await h2Connect(origin, { ca: certs.caCertPem });
    clients.push(c);
    return c;
  }

  /**
   * answered; refused: never processed, so safe to send again on a new connection (the
   * stream came after the GOAWAY's last stream id, or the session was already going away),
   * which Go's transport does by itself; reset: anything else, a review lost.
   */
  type H2Outcome = 'answered' | 'refused' | 'reset';
  const postH2 = (c: ClientHttp2Session): Promise<H2Outcome> =>
    h2Request(c, { method: 'POST', path: '/validate', body: '{"kind":"AdmissionReview"}' }).then(
      (r) => (r.status === 200 ? 'answered' : 'reset'),
      (err: NodeJS.ErrnoException & { rstCode?: number }) =>
        err.code === 'ERR_HTTP2_GOAWAY_SESSION' || err.code === 'ERR_HTTP2_INVALID_SESSION' || err.rstCode === 7
          ? 'refused'
          : 'reset',
    );

  it('loses no review sent as streams while it drains, and tells every session to go away', async () => {
    const origin = await listeningH2(2);
    const sessions = await Promise.all(Array.from({ length: 4 }, () => client(origin)));
    const goaways = sessions.map((s) => new Promise<void>((resolve) => s.once('goaway', () => resolve())));
    const outcomes: H2Outcome[] = [];
    let stop = false;
    const worker = async (s: ClientHttp2Session) => {
      while (!stop && !s.closed && !s.destroyed) outcomes.push(await postH2(s));
    };
    const workers = sessions.flatMap((s) => [worker(s), worker(s)]);
    while (outcomes.length < 20) await new Promise((resolve) => setTimeout(resolve, 20));
    await drainServer(h2!, drainTiming(5));
    stop = true;
    await Promise.all(workers);
    await Promise.all(goaways);
    expect(outcomes.filter((o) => o === 'reset')).toEqual([]);
    expect(outcomes.filter((o) => o === 'answered').length).toBeGreaterThanOrEqual(20);
  });

  it('closes idle sessions by GOAWAY, without waiting for the client', async () => {
    const origin = await listeningH2(0);
    const idle = await client(origin);
    expect(await postH2(idle)).toBe('answered');
    const started = performance.now();
    await drainServer(h2!, drainTiming(20));
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(idle.closed || idle.destroyed).toBe(true);
  });

  it('lets a stream in flight finish within the budget', async () => {
    const origin = await listeningH2(600);
    const c = await client(origin);
    const inFlight = postH2(c);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await drainServer(h2!, drainTiming(2));
    expect(await inFlight).toBe('answered');
  });

  it('cuts what is left when the budget is spent', async () => {
    const origin = await listeningH2(-1);
    const c = await client(origin);
    const stuck = postH2(c);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    await drainServer(h2!, drainTiming(1));
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    expect(await stuck).toBe('reset');
    const open = await new Promise<number>((resolve) => h2!.getConnections((_e, n) => resolve(n)));
    expect(open).toBe(0);
  });

  it('tells HTTP/1.1 clients of the same server to close, as node:https does', async () => {
    const origin = await listeningH2(0);
    const agent = new Agent({ keepAlive: true });
    const port = Number(new URL(origin).port);
    expect(await post(port, agent)).toBe('answered');
    const draining = drainServer(h2!, drainTiming(2));
    expect(await post(port, agent)).toBe('closing');
    agent.destroy();
    await draining;
  });
});
