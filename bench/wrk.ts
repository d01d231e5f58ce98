// Throughput with wrk (Debian package `wrk`) when it is installed: a C load generator
// leaves the second core to the server, where a Node generator would compete for it
// and hide the server's own cost. Falls back to the Node closed loop otherwise.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchTempDir, removeBenchTempDir } from './temp.ts';

export function wrkAvailable(): boolean {
  return spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined;
}

function runWrk(port: number, body: Buffer, opts: { connections: number; seconds: number; delayMs?: number }): string {
  const dir = benchTempDir('bulwark-wrk-');
  writeFileSync(join(dir, 'body.json'), body);
  writeFileSync(
    join(dir, 'post.lua'),
    [
      'wrk.method = "POST"',
      `local f = io.open("${join(dir, 'body.json')}", "rb"); wrk.body = f:read("*a"); f:close()`,
      'wrk.headers["Content-Type"] = "application/json"',
      ...(opts.delayMs ? [`function delay() return ${opts.delayMs} end`] : []),
    ].join('\n'),
  );
  const r = spawnSync(
    'wrk',
    [
      '-t1',
      `-c${opts.connections}`,
      `-d${opts.seconds}s`,
      '--latency',
      '-s',
      join(dir, 'post.lua'),
      `https://127.0.0.1:${port}/validate`,
    ],
    { encoding: 'utf8' },
  );
  removeBenchTempDir(dir);
  if (!/Requests\/sec/.test(r.stdout)) throw new Error(`wrk failed: ${r.stderr || r.stdout}`);
  if (/Non-2xx/.test(r.stdout)) throw new Error(`wrk saw non-2xx answers: ${r.stdout}`);
  return r.stdout;
}

function millis(text: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(text);
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

/** Requests/s of POST /validate with `body` over `connections` keep-alive TLS connections. */
export function wrkThroughput(port: number, body: Buffer, opts: { connections: number; seconds: number }): number {
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(runWrk(port, body, opts))![1]);
}

/**
 * Latency at a paced rate: each connection waits `16 ms` between requests, so 16
 * connections send about 1,000 requests/s. Measured by wrk, outside Node entirely.
 */
export function wrkPaced(
  port: number,
  body: Buffer,
  opts: { connections: number; seconds: number; delayMs: number },
): { rps: number; p50ms: number; p99ms: number } {
  runWrk(port, body, { ...opts, seconds: 2 }); // warm-up
  const out = runWrk(port, body, opts);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]),
    p50ms: millis(/^\s+50%\s+(\S+)/m.exec(out)![1]!),
    p99ms: millis(/^\s+99%\s+(\S+)/m.exec(out)![1]!),
  };
}
