// `npm run bench`: Bulwark against a no-op HTTPS responder, measured in the same run,
// on realistic reviews. Prints requests/s, p50 and p99 and their ratios. Not a test:
// figures vary with the machine; compare the ratios.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { writeGeneratedCertificates } from '../src/server/certificate-files.ts';
import { closedLoop, openLoop, type LoadResult } from './load.ts';
import { benchReviews } from './reviews.ts';

const ROOT = join(import.meta.dirname, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const RATE = Number(process.env.BENCH_RATE ?? 1000);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts a server process (its logs go to /dev/null, as a log shipper would take them) and waits until it answers. */
async function startProcess(args: string[], port: number, ca: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  let exited: string | undefined;
  child.once('exit', (code) => { exited = `${args.join(' ')} exited with ${code}`; });
  for (let i = 0; i < 200 && !exited; i++) {
    try {
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/healthz', ca, servername: 'localhost', method: 'GET' }, (res) => { res.resume(); res.on('end', resolve); });
        req.on('error', reject);
        req.end();
      });
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill('SIGKILL');
  throw new Error(exited ?? `${args.join(' ')} did not answer within 20 s`);
}

function row(name: string, r: LoadResult): string {
  return `${name.padEnd(34)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${r.p50ms.toFixed(3).padStart(7)} ms   p99 ${r.p99ms.toFixed(3).padStart(7)} ms   errors ${r.errors}`;
}

async function main(): Promise<void> {
  const tls = await writeGeneratedCertificates(undefined);
  const ca = await readFile(tls.caFile, 'utf8');
  const workloads = await benchReviews();
  console.log(`bench: ${SECONDS}s per run, closed loop with ${CONCURRENCY} connections, open loop at ${RATE} req/s; Node ${process.version}`);
  for (const w of workloads) console.log(`  workload ${w.name}: ${w.bodies[0]!.length} bytes per review (${w.expect})`);

  const noopPort = await freePort();
  const noop = await startProcess(['bench/noop-responder.ts', String(noopPort), tls.certFile, tls.keyFile], noopPort, ca);
  const bulwarkPort = await freePort();
  const bulwark = await startProcess(['bin/bulwark.js', 'serve', '--port', String(bulwarkPort), '--host', '127.0.0.1', '--cluster', 'none',
    '--cert', tls.certFile, '--key', tls.keyFile, '--log-level', process.env.BENCH_LOG_LEVEL ?? 'info'], bulwarkPort, ca);
  try {
    for (const w of workloads) {
      console.log(`\n== ${w.name}`);
      await closedLoop(noopPort, ca, w.bodies, { concurrency: CONCURRENCY, seconds: 1 }); // warm-up
      await closedLoop(bulwarkPort, ca, w.bodies, { concurrency: CONCURRENCY, seconds: 1 });
      const noopMax = await closedLoop(noopPort, ca, w.bodies, { concurrency: CONCURRENCY, seconds: SECONDS });
      const bulwarkMax = await closedLoop(bulwarkPort, ca, w.bodies, { concurrency: CONCURRENCY, seconds: SECONDS });
      console.log(row('no-op  throughput (closed loop)', noopMax));
      console.log(row('bulwark throughput (closed loop)', bulwarkMax));
      console.log(`   throughput ratio bulwark/no-op: ${(100 * bulwarkMax.rps / noopMax.rps).toFixed(1)}% (goal >= 75%)`);
      const noopRate = await openLoop(noopPort, ca, w.bodies, { rate: RATE, seconds: SECONDS });
      const bulwarkRate = await openLoop(bulwarkPort, ca, w.bodies, { rate: RATE, seconds: SECONDS });
      console.log(row(`no-op   at ${RATE} req/s`, noopRate));
      console.log(row(`bulwark at ${RATE} req/s`, bulwarkRate));
      console.log(`   p99 difference at ${RATE} req/s: ${(bulwarkRate.p99ms - noopRate.p99ms).toFixed(3)} ms (goal <= 1 ms); p50 difference ${(bulwarkRate.p50ms - noopRate.p50ms).toFixed(3)} ms`);
    }
  } finally {
    noop.kill('SIGTERM');
    bulwark.kill('SIGTERM');
  }
}

await main();
