// Throughput with wrk (Debian package `wrk`) when it is installed: a C load generator
// leaves the second core to the server, where a Node generator would compete for it
// and hide the server's own cost. Falls back to the Node closed loop otherwise.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { benchTempDir, removeBenchTempDir } from './temp.ts';
import { cpuMs } from './process-cpu.ts';

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

/** A server process under measure: where it listens and its pid (for its CPU time in /proc). */
export interface BenchServer {
  port: number;
  pid: number;
}

export interface ServerThroughput {
  rps: number;
  /** The server process's CPU time (user + system) over the run divided by the reviews wrk got answers to. */
  cpuUsPerReview: number;
}

/**
 * wrk throughput and the server's own CPU per review. Requests/s depends on how the two
 * cores are shared between wrk and the server (a ratio moved 15 points between runs);
 * the CPU per review does not, and is what a server with the cores to itself would turn
 * into throughput.
 */
export function wrkServerThroughput(
  server: BenchServer,
  body: Buffer,
  opts: { connections: number; seconds: number },
): ServerThroughput {
  const before = cpuMs(server.pid);
  const out = runWrk(server.port, body, opts);
  const cpu = cpuMs(server.pid) - before;
  const requests = Number(/(\d+) requests in/.exec(out)![1]);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]), cpuUsPerReview: (cpu * 1000) / requests };
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

/**
 * wrk throughput of the no-op, the parse-only responder and Bulwark, one after the other,
 * each with the server's CPU per review, and their ratios.
 */
export function reportWrkThroughput(
  body: Buffer,
  servers: { noop: BenchServer; parse: BenchServer; bulwark: BenchServer },
  load: { connections: number; seconds: number },
): void {
  const noop = wrkServerThroughput(servers.noop, body, load);
  const parse = wrkServerThroughput(servers.parse, body, load);
  const bulwark = wrkServerThroughput(servers.bulwark, body, load);
  const line = (name: string, r: ServerThroughput, note = '') =>
    console.log(
      `${name.padEnd(36)}${r.rps.toFixed(0).padStart(8)} req/s   server CPU ` +
        `${r.cpuUsPerReview.toFixed(1).padStart(6)} us/review${note}`,
    );
  line('no-op   throughput (wrk)', noop);
  line('parse-only throughput (wrk)', parse, '   (reads and parses the review, nothing else)');
  line('bulwark throughput (wrk)', bulwark);
  console.log(
    `   throughput ratio bulwark/no-op with wrk: ${((100 * bulwark.rps) / noop.rps).toFixed(1)}% (goal >= ` +
      `75%); parse-only/no-op ${((100 * parse.rps) / noop.rps).toFixed(1)}%; ` +
      `bulwark/parse-only ${((100 * bulwark.rps) / parse.rps).toFixed(1)}%`,
  );
  console.log(
    `   throughput at CPU parity (parse-only CPU / bulwark CPU per review): ` +
      `${((100 * parse.cpuUsPerReview) / bulwark.cpuUsPerReview).toFixed(1)}% (goal >= 85%); ` +
      `no-op/bulwark ${((100 * noop.cpuUsPerReview) / bulwark.cpuUsPerReview).toFixed(1)}% ` +
      `(load ${loadavg()[0]!.toFixed(2)})`,
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
