// The outgoing notification webhook's delivery (controller/notify.ts) against a real local
// HTTP receiver: retries with exponential backoff on 5xx and network errors, no retry on a
// 4xx refusal, giving up after the attempts, a bounded queue dropping the oldest, every
// outcome counted; the bearer token and the HMAC signature a receiver checks.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createNotifier, notificationSignature, type NotificationOutcome } from '../../../src/controller/notify.ts';
import { createLogger } from '../../../src/observability/logger.ts';

interface Hit {
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server | undefined;

async function receiver(answers: number[]): Promise<{ url: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answers[hits.length - 1] ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, hits };
}

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

function notifier(url: string, extra: Partial<Parameters<typeof createNotifier>[0]> = {}) {
  const outcomes: NotificationOutcome[] = [];
  const delays: number[] = [];
  const n = createNotifier({
    url,
    logger: createLogger('silent'),
    onOutcome: (o) => outcomes.push(o),
    attempts: 4,
    baseDelayMs: 100,
    sleep: async (ms) => {
      delays.push(ms);
    },
    ...extra,
  });
  return { n, outcomes, delays };
}

describe('notification delivery', () => {
  it('retries 5xx with exponential backoff until the receiver accepts', async () => {
    const { url, hits } = await receiver([503, 500, 200]);
    const { n, outcomes, delays } = notifier(url);
    n.notify({ phase: 'Approved' });
    await n.drain();
    expect(hits.map((h) => JSON.parse(h.body))).toEqual([
      { phase: 'Approved' },
      { phase: 'Approved' },
      { phase: 'Approved' },
    ]);
    expect(delays).toEqual([100, 200]);
    expect(outcomes).toEqual(['retried', 'retried', 'delivered']);
  });

  it('gives up after its attempts, and does not retry a 4xx refusal', async () => {
    const { url, hits } = await receiver([503, 503, 503, 503, 400]);
    const { n, outcomes } = notifier(url);
    n.notify({ phase: 'Pending' });
    await n.drain();
    expect(hits).toHaveLength(4);
    n.notify({ phase: 'Approved' });
    await n.drain();
    expect(hits).toHaveLength(5);
    expect(outcomes).toEqual(['retried', 'retried', 'retried', 'failed', 'failed']);
  });

  it('counts an unreachable receiver as failed, after retrying', async () => {
    const { url } = await receiver([]);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const { n, outcomes } = notifier(url, { attempts: 2 });
    n.notify({ phase: 'Pending' });
    await n.drain();
    expect(outcomes).toEqual(['retried', 'failed']);
  });

  it('keeps a bounded queue, dropping the oldest', async () => {
    const { url, hits } = await receiver([]);
    const { n, outcomes } = notifier(url, { maxQueue: 2 });
    for (let i = 0; i < 5; i++) n.notify({ i });
    await n.drain();
    // The first went out at once; of the four queued behind it two were dropped.
    expect(hits.map((h) => JSON.parse(h.body).i)).toEqual([0, 3, 4]);
    expect(outcomes.filter((o) => o === 'dropped')).toHaveLength(2);
  });

  it('sends the bearer token and a signature over the timestamp and the body', async () => {
    const { url, hits } = await receiver([]);
    const { n } = notifier(url, {
      secret: async () => ({ token: 't0k', hmacKey: 'k3y' }),
      now: () => 1_700_000_000_000,
    });
    n.notify({ phase: 'Rejected' });
    await n.drain();
    const [hit] = hits;
    expect(hit!.headers.authorization).toBe('Bearer t0k');
    expect(hit!.headers['x-bulwark-timestamp']).toBe('1700000000');
    expect(hit!.headers['x-bulwark-signature']).toBe(notificationSignature('k3y', '1700000000', hit!.body));
    expect(hit!.headers['x-bulwark-signature']).not.toBe(notificationSignature('other', '1700000000', hit!.body));
  });
});
