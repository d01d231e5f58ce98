// The drain seen from a client that behaves like the apiserver: a pool of kept-alive
// connections and reviews sent back to back. No review may meet a reset connection,
// which the apiserver would report as a failed admission.

import { Agent, type Server, createServer, request } from 'node:https';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateCertificates, type GeneratedCertificates } from '../../../src/server/certificates.ts';
import { drainServer, drainTiming } from '../../../src/server/drain.ts';

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

describe('draining the HTTPS server', () => {
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
