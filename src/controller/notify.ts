// The optional outgoing notification webhook: each UnlockRequest transition the status loop
// announces (the same ones recorded as Events) is POSTed as JSON to one URL, for chat or a
// ticketing tool. Delivery runs beside the loop, never in it and never on the admission path:
// a queue (bounded; the oldest is dropped when full), a few attempts with exponential backoff
// on network errors, timeouts, 429 and 5xx, each outcome counted in a metric. The secret, a
// bearer token and/or an HMAC key, is read from a Secret in Bulwark's namespace at each
// delivery (rotation needs no restart):
//   Authorization: Bearer <token>                       (Secret key `token`)
//   X-Bulwark-Timestamp: <unix seconds>
//   X-Bulwark-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">   (Secret key `hmac-key`)
// so a receiver can check who sent it and refuse replays of old bodies.

import { createHmac } from 'node:crypto';
import type { Logger } from '../observability/logger.ts';

export interface NotificationSecret {
  token?: string;
  hmacKey?: string;
}

export type NotificationOutcome = 'delivered' | 'retried' | 'failed' | 'dropped';

export interface NotifierOptions {
  url: string;
  /** Reads the Secret's keys; throws when it cannot be read (the attempt then counts as failed). */
  secret?: () => Promise<NotificationSecret>;
  logger: Logger;
  onOutcome?: (outcome: NotificationOutcome) => void;
  attempts?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
  maxQueue?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface Notifier {
  notify(payload: Record<string, unknown>): void;
  /** Resolves once the queue is empty (tests, shutdown). */
  drain(): Promise<void>;
  stop(): void;
}

/** The signature a receiver recomputes: hex HMAC-SHA256 over "<timestamp>.<body>". */
export function notificationSignature(key: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;
}

const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

export function createNotifier(options: NotifierOptions): Notifier {
  const { url, logger } = options;
  const attempts = options.attempts ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 1_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const maxQueue = options.maxQueue ?? 100;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref()));
  const count = (o: NotificationOutcome) => options.onOutcome?.(o);
  const queue: string[] = [];
  let running: Promise<void> | undefined;
  let stopped = false;

  async function headers(body: string): Promise<Record<string, string>> {
    const secret = (await options.secret?.()) ?? {};
    const timestamp = String(Math.floor(now() / 1000));
    return {
      'content-type': 'application/json',
      'user-agent': 'bulwark-notifier',
      ...(secret.token ? { authorization: `Bearer ${secret.token}` } : {}),
      ...(secret.hmacKey
        ? {
            'x-bulwark-timestamp': timestamp,
            'x-bulwark-signature': notificationSignature(secret.hmacKey, timestamp, body),
          }
        : {}),
    };
  }

  /** One delivery with its retries; true when the receiver answered 2xx. */
  async function deliver(body: string): Promise<boolean> {
    for (let attempt = 1; attempt <= attempts && !stopped; attempt++) {
      let problem: string;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: await headers(body),
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.body?.cancel();
        if (res.ok) return true;
        problem = `HTTP ${res.status}`;
        if (!retryable(res.status)) {
          logger.warn({ url, status: res.status }, 'notification refused by its receiver; not retried');
          return false;
        }
      } catch (err) {
        problem = (err as Error).message;
      }
      if (attempt === attempts || stopped) {
        logger.warn({ url, attempts: attempt, problem }, 'notification not delivered');
        return false;
      }
      count('retried');
      await sleep(baseDelayMs * 2 ** (attempt - 1));
    }
    return false;
  }

  async function run(): Promise<void> {
    while (queue.length > 0 && !stopped) {
      const body = queue.shift()!;
      count((await deliver(body)) ? 'delivered' : 'failed');
    }
  }

  return {
    notify(payload) {
      if (stopped) return;
      if (queue.length >= maxQueue) {
        queue.shift();
        count('dropped');
      }
      queue.push(JSON.stringify(payload));
      running ??= run().finally(() => {
        running = undefined;
      });
    },
    async drain() {
      while (running) await running;
    },
    stop() {
      stopped = true;
      queue.length = 0;
    },
  };
}
