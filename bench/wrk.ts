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

/** wrk throughput of the no-op, the parse-only responder and Bulwark, one after the other, and their ratios. */
export function reportWrkThroughput(
  body: Buffer,
  ports: { noop: number; parse: number; bulwark: number },
  load: { connections: number; seconds: number },
): void {
  const noopWrk = wrkThroughput(ports.noop, body, load);
  const parseWrk = wrkThroughput(ports.parse, body, load);
  const bulwarkWrk = wrkThroughput(ports.bulwark, body, load);
  console.log(`no-op   throughput (wrk)            ${noopWrk.toFixed(0).padStart(8)} req/s`);
  console.log(
    `parse-only throughput (wrk)         ${parseWrk.toFixed(0).padStart(8)} req/s   (reads and parses the ` +
      `review, nothing else)`,
  );
  console.log(`bulwark throughput (wrk)            ${bulwarkWrk.toFixed(0).padStart(8)} req/s`);
  console.log(
    `   throughput ratio bulwark/no-op with wrk: ${((100 * bulwarkWrk) / noopWrk).toFixed(1)}% (goal >= ` +
      `75%); parse-only/no-op ${((100 * parseWrk) / noopWrk).toFixed(1)}%; ` +
      `bulwark/parse-only ${((100 * bulwarkWrk) / parseWrk).toFixed(1)}%`,
  );
}

/** p50 and p99 of the no-op and Bulwark at about 1,000 requests/s paced by wrk, and the p99 difference. */
export function reportWrkPaced(body: Buffer, ports: { noop: number; bulwark: number }, seconds: number): void {
  const paced = { connections: 16, seconds, delayMs: 16 };
  const n = wrkPaced(ports.noop, body, paced);
  const b = wrkPaced(ports.bulwark, body, paced);
  console.log(
    `no-op   paced by wrk (16 conns x 1/16 ms) ${n.rps.toFixed(0).padStart(6)} req/s   ` +
      `p50 ${n.p50ms.toFixed(3).padStart(7)} ms   p99 ${n.p99ms.toFixed(3).padStart(7)} ms`,
  );
  console.log(
    `bulwark paced by wrk (16 conns x 1/16 ms) ${b.rps.toFixed(0).padStart(6)} req/s   ` +
      `p50 ${b.p50ms.toFixed(3).padStart(7)} ms   p99 ${b.p99ms.toFixed(3).padStart(7)} ms`,
  );
  console.log(`   p99 difference measured by wrk: ${(b.p99ms - n.p99ms).toFixed(3)} ms (goal <= 1 ms)`);
}
