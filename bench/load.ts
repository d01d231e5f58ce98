// Load generation over HTTPS keep-alive: closed loop for throughput, open loop at a
// fixed rate for latency. Bounded in requests and time; loopback only.

import { Agent, request } from 'node:https';

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function send(agent: Agent, port: number, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/validate',
        method: 'POST',
        agent,
        servername: 'localhost',
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        res.on('data', () => {});
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Number(process.hrtime.bigint() - started) / 1e6)
            : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function summarise(latencies: number[], errors: number, seconds: number): LoadResult {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    requests: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    p50ms: percentile(sorted, 50),
    p99ms: percentile(sorted, 99),
    errors,
  };
}

/** As many requests as `concurrency` connections carry, for `seconds`. */
export async function closedLoop(
  port: number,
  ca: string,
  bodies: Buffer[],
  opts: { concurrency: number; seconds: number },
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency, ca });
  const latencies: number[] = [];
  let errors = 0;
  const deadline = Date.now() + opts.seconds * 1000;
  const started = process.hrtime.bigint();
  let i = 0;
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (Date.now() < deadline) {
        try {
          latencies.push(await send(agent, port, bodies[i++ % bodies.length]!));
        } catch {
          errors++;
        }
      }
    }),
  );
  agent.destroy();
  return summarise(latencies, errors, Number(process.hrtime.bigint() - started) / 1e9);
}

/** Requests started at a fixed rate regardless of answers (no coordinated omission). */
export async function openLoop(
  port: number,
  ca: string,
  bodies: Buffer[],
  opts: { rate: number; seconds: number },
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64, ca });
  const latencies: number[] = [];
  let errors = 0;
  const total = Math.round(opts.rate * opts.seconds);
  const started = process.hrtime.bigint();
  const pending: Promise<void>[] = [];
  for (let n = 0; n < total; n++) {
    const due = (n / opts.rate) * 1000;
    const now = Number(process.hrtime.bigint() - started) / 1e6;
    if (due > now) await new Promise((r) => setTimeout(r, due - now));
    const intended = process.hrtime.bigint();
    pending.push(
      send(agent, port, bodies[n % bodies.length]!).then(
        () => {
          latencies.push(Number(process.hrtime.bigint() - intended) / 1e6);
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return summarise(latencies, errors, Number(process.hrtime.bigint() - started) / 1e9);
}
