// Waiting for things to come up: plain GETs against a URL until it answers 200, giving
// up early when the process behind it has died, and naming the log to read either way.

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { logTail, type ManagedProcess } from './processes.ts';

export interface GetOptions {
  ca?: string;
  /** Accept any certificate: for self-signed health endpoints on loopback. */
  insecure?: boolean;
  token?: string;
  timeoutMs?: number;
}

export interface GetResult {
  status: number;
  body: string;
}

export function get(url: string, options: GetOptions = {}): Promise<GetResult> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'GET',
        ...(options.ca ? { ca: options.ca } : {}),
        ...(options.insecure ? { rejectUnauthorized: false } : {}),
        headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(options.timeoutMs ?? 2000, () =>
      req.destroy(new Error(`no answer within ${options.timeoutMs ?? 2000} ms`)),
    );
    req.on('error', reject);
    req.end();
  });
}

export interface WaitReadyOptions extends GetOptions {
  /** The process serving `url`: waiting stops as soon as it exits. */
  process: ManagedProcess;
  deadlineMs: number;
  intervalMs?: number;
}

/** Polls until `url` answers 200; throws with the last answer and the log tail otherwise. */
export async function waitReady(url: string, options: WaitReadyOptions): Promise<void> {
  const deadline = Date.now() + options.deadlineMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const status = options.process.exitStatus();
    if (status !== undefined) {
      throw new Error(
        `${options.process.name} ended (${status}) before ${url} became ready; ${options.process.logFile} ends ` +
          `with:\n${logTail(options.process.logFile)}`,
      );
    }
    try {
      const res = await get(url, options);
      if (res.status === 200) return;
      last = `HTTP ${res.status}: ${
        res.body
          .trim()
          .split('\n')
          .filter((l) => l.includes('failed'))
          .join('; ')
          .slice(0, 500) || res.body.slice(0, 200)
      }`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(options.intervalMs ?? 200);
  }
  throw new Error(
    `${url} not ready after ${options.deadlineMs / 1000} s (last: ${last}); ${options.process.logFile} ends ` +
      `with:\n${logTail(options.process.logFile)}`,
  );
}
