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
import { benchImages } from './images.ts';
import { benchSignoff } from './signoff.ts';
import { benchSlowClients } from './slow-clients.ts';
import { writePolicyDir } from './policies.ts';
import { benchReviews } from './reviews.ts';
import { decisionTimes } from './decision-times.ts';
import { benchApiserver } from './apiserver.ts';
import { benchCold } from './cold.ts';
import { benchCli } from './cli.ts';
import { benchTempDir } from './temp.ts';
import { benchProtocols } from './protocols.ts';
import { benchMemoryCluster, benchMemoryStandalone } from './memory.ts';
import { reportWrkPaced, reportWrkThroughput, wrkAvailable, wrkThroughput } from './wrk.ts';

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
  child.once('exit', (code) => {
    exited = `${args.join(' ')} exited with ${code}`;
  });
  for (let i = 0; i < 200 && !exited; i++) {
    try {
      await new Promise<void>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, path: '/healthz', ca, servername: 'localhost', method: 'GET' },
          (res) => {
            res.resume();
            res.on('end', resolve);
          },
        );
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
  return (
    `${name.padEnd(34)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${r.p50ms.toFixed(3).padStart(7)} ms   ` +
    `p99 ${r.p99ms.toFixed(3).padStart(7)} ms   errors ${r.errors}`
  );
}

async function main(): Promise<void> {
  // BENCH_ONLY=apiserver: only the writes through kube-apiserver (bench/apiserver.ts).
  if (process.env.BENCH_ONLY === 'apiserver') return benchApiserver();
  // BENCH_ONLY=cold: only hot against cold single reviews at the webhook (bench/cold.ts).
  if (process.env.BENCH_ONLY === 'cold') return benchCold();
  const tls = await writeGeneratedCertificates(benchTempDir('bulwark-bench-tls-'));
  const ca = await readFile(tls.caFile, 'utf8');
  const workloads = await benchReviews();
  const memory = async () => {
    const serving = { ca, certFile: tls.certFile, keyFile: tls.keyFile };
    await benchMemoryStandalone(serving, { body: workloads[0]!.bodies[0]!, seconds: SECONDS }, freePort);
    if (process.env.BENCH_MEMORY_CLUSTER !== '0') await benchMemoryCluster(serving, freePort);
  };
  // BENCH_ONLY=memory: only the memory sections (bench/memory.ts).
  if (process.env.BENCH_ONLY === 'memory') return memory();
  // BENCH_ONLY=protocols: only HTTP/2 against HTTP/1.1 at the webhook (bench/protocols.ts).
  if (process.env.BENCH_ONLY === 'protocols') return benchProtocols(workloads[1]!.bodies[0]!);
  console.log(
    `bench: ${SECONDS}s per run, closed loop with ${CONCURRENCY} connections, open loop at ${RATE} req/s; ` +
      `Node ${process.version}`,
  );
  for (const w of workloads) console.log(`  workload ${w.name}: ${w.bodies[0]!.length} bytes per review (${w.expect})`);

  const noopPort = await freePort();
  const noop = await startProcess(
    ['bench/noop-responder.ts', String(noopPort), tls.certFile, tls.keyFile],
    noopPort,
    ca,
  );
  const parsePort = await freePort();
  const parseOnly = await startProcess(
    ['bench/noop-responder.ts', String(parsePort), tls.certFile, tls.keyFile, 'parse'],
    parsePort,
    ca,
  );
  const serve = async (extra: string[] = []) => {
    const port = await freePort();
    const child = await startProcess(
      [
        'bin/bulwark.js',
        'serve',
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
        '--cluster',
        'none',
        '--cert',
        tls.certFile,
        '--key',
        tls.keyFile,
        '--log-level',
        process.env.BENCH_LOG_LEVEL ?? 'info',
        ...extra,
      ],
      port,
      ca,
    );
    return { port, child };
  };
  const { port: bulwarkPort, child: bulwark } = await serve();
  const wrkLoad = { connections: CONCURRENCY, seconds: SECONDS };
  const wrkServers = {
    noop: { port: noopPort, pid: noop.pid! },
    parse: { port: parsePort, pid: parseOnly.pid! },
    bulwark: { port: bulwarkPort, pid: bulwark.pid! },
  };
  try {
    // BENCH_ONLY=images: only the image verification sections (they need no load runs);
    // BENCH_ONLY=slow-clients: only the slow clients' section;
    // BENCH_ONLY=throughput: only the wrk runs of the two workloads (throughput and paced p99).
    const only = process.env.BENCH_ONLY;
    for (const w of only && only !== 'throughput' ? [] : workloads) {
      console.log(`\n== ${w.name}`);
      if (only === 'throughput') {
        if (!wrkAvailable()) throw new Error('BENCH_ONLY=throughput needs wrk');
        // Warm-up of all three (JIT, heap sizing): their CPU per review is compared.
        for (const s of Object.values(wrkServers)) wrkThroughput(s.port, w.bodies[0]!, { ...wrkLoad, seconds: 1 });
        reportWrkThroughput(w.bodies[0]!, wrkServers, wrkLoad);
        reportWrkPaced(w.bodies[0]!, { noop: noopPort, bulwark: bulwarkPort }, SECONDS);
        continue;
      }
      await closedLoop(noopPort, ca, w.bodies, { concurrency: CONCURRENCY, seconds: 1 }); // warm-up
      await closedLoop(bulwarkPort, ca, w.bodies, { concurrency: CONCURRENCY, seconds: 1 });
      const noopMax = await closedLoop(noopPort, ca, w.bodies, { concurrency: CONCURRENCY, seconds: SECONDS });
      const bulwarkMax = await closedLoop(bulwarkPort, ca, w.bodies, { concurrency: CONCURRENCY, seconds: SECONDS });
      console.log(row('no-op  throughput (Node generator)', noopMax));
      console.log(row('bulwark throughput (Node generator)', bulwarkMax));
      console.log(
        `   throughput ratio bulwark/no-op with the Node ` +
          `generator: ${((100 * bulwarkMax.rps) / noopMax.rps).toFixed(1)}% (goal >= 75%)`,
      );
      if (wrkAvailable()) {
        reportWrkThroughput(w.bodies[0]!, wrkServers, wrkLoad);
      } else {
        console.log("   (install Debian's wrk for a load generator that does not compete with the server for CPU)");
      }
      // Steady state: each server gets a few seconds at the target rate first (JIT, heap sizing).
      await openLoop(noopPort, ca, w.bodies, { rate: RATE, seconds: 3 });
      const noopRate = await openLoop(noopPort, ca, w.bodies, { rate: RATE, seconds: SECONDS });
      await openLoop(bulwarkPort, ca, w.bodies, { rate: RATE, seconds: 3 });
      const bulwarkRate = await openLoop(bulwarkPort, ca, w.bodies, { rate: RATE, seconds: SECONDS });
      console.log(row(`no-op   at ${RATE} req/s`, noopRate));
      console.log(row(`bulwark at ${RATE} req/s`, bulwarkRate));
      console.log(
        `   p99 difference at ${RATE} req/s: ${(bulwarkRate.p99ms - noopRate.p99ms).toFixed(3)} ms (goal <= 1 ` +
          `ms); p50 difference ${(bulwarkRate.p50ms - noopRate.p50ms).toFixed(3)} ms`,
      );
      if (wrkAvailable()) reportWrkPaced(w.bodies[0]!, { noop: noopPort, bulwark: bulwarkPort }, SECONDS);
    }
    if (only === 'throughput') return;
    if (only === 'slow-clients') {
      await benchSlowClients(bulwarkPort, ca, tls.caFile, workloads[1]!.bodies[0]!);
      return;
    }
    if (process.env.BENCH_ONLY !== 'images') await comparePolicyCounts(serve, ca, workloads[1]!);
    await benchImages(serve, ca);
    await benchSignoff(serve, ca);
    if (!process.env.BENCH_ONLY) await benchSlowClients(bulwarkPort, ca, tls.caFile, workloads[1]!.bodies[0]!);
    if (!process.env.BENCH_ONLY) await benchProtocols(workloads[1]!.bodies[0]!);
  } finally {
    noop.kill('SIGTERM');
    parseOnly.kill('SIGTERM');
    bulwark.kill('SIGTERM');
  }
  if (!process.env.BENCH_ONLY) {
    await benchApiserver();
    await benchCold();
    await benchCli();
    await memory();
  }
}

/** 1 against 1,000 policies: the same review, the same server, only the policy count differs. */
async function comparePolicyCounts(
  serve: (extra: string[]) => Promise<{ port: number; child: ChildProcess }>,
  ca: string,
  workload: { bodies: Buffer[] },
): Promise<void> {
  console.log('\n== 1 against 1,000 ImmutabilityPolicies (ConfigMap UPDATE; policies indexed by kind and namespace)');
  const results: Record<number, LoadResult> = {};
  for (const count of [1, 1000]) {
    const { port, child } = await serve(['--policies', await writePolicyDir(count)]);
    try {
      await openLoop(port, ca, workload.bodies, { rate: RATE, seconds: 3 });
      results[count] = await openLoop(port, ca, workload.bodies, { rate: RATE, seconds: SECONDS });
      console.log(row(`${count} policies at ${RATE} req/s`, results[count]!));
    } finally {
      child.kill('SIGTERM');
    }
  }
  console.log(
    `   p99 difference 1,000 vs 1 policies: ${(results[1000]!.p99ms - results[1]!.p99ms).toFixed(3)} ms (goal ` +
      `within 1 ms)`,
  );
  for (const line of await decisionTimes(workload.bodies[0]!)) console.log(line);
}

await main();
