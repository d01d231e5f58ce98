// Memory of `bulwark serve` (issue 19): resident set size (VmRSS from /proc) of one serve
// process, idle (5 s after it answered), with 1,000 policies, after saturation, and against
// a kube-apiserver holding 1,000 ImmutabilityPolicies and 10,000 locked ConfigMaps (after
// the leader's first audit scan has listed them). Each figure with and without Node's
// compile cache filled as the image fills it (Dockerfile, scripts/warm-compile-cache.ts).
// Prints figures; asserts nothing (they vary with the machine).
//
//   npm run bench                        (this is one of its sections)
//   BENCH_ONLY=memory npm run bench      only this section
//   BENCH_MEMORY_CLUSTER=0               without the apiserver part
//   BENCH_MEMORY_STANDALONE=0            only the apiserver part
//   BENCH_MEMORY_SCANS=2                 RSS after each of the first N audit scans (default 1)
//   BENCH_MEMORY_VARIANT=image           only the run with the image's compile cache
//   BENCH_MEMORY_POLICIES=0              standalone: without the 1,000 policy files' run
//   BENCH_MEMORY_NODE_FLAGS='...'        other V8 flags than the image's (to compare)
//   BENCH_MEMORY_LOG_LEVEL=info          standalone: serve's log level (default warn)
//   BENCH_MEMORY_SCAN_LINES=1            print each scan's log line (its memory: heap, external)
//   BENCH_MEMORY_HEAP_DIR=DIR            a heap snapshot of the leader after the last scan, written to DIR

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startCluster } from '../harness/cluster.ts';
import { kubectlOk } from '../harness/kubectl.ts';
import { createLockedConfigMaps } from '../harness/locked-objects.ts';
import { policySet, writePolicyDir } from './policies.ts';
import { benchTempDir } from './temp.ts';
import { wrkAvailable, wrkThroughput } from './wrk.ts';
import { closedLoop } from './load.ts';

const ROOT = join(import.meta.dirname, '..');
/** The ENTRYPOINT's V8 flags (the compile cache is keyed by them; --expose-gc lets serve release memory). */
const IMAGE_FLAGS = process.env.BENCH_MEMORY_NODE_FLAGS?.split(' ') ?? ['--max-semi-space-size=8', '--expose-gc'];
const SETTLE_MS = 5_000;
const LOCKED = Number(process.env.BENCH_MEMORY_LOCKED ?? 10_000);
const POLICIES = 1_000;
const VARIANTS = [
  ['no compile cache (npm start)', false],
  ['compile cache (as the image)', true],
] as const;
const SCANS = Number(process.env.BENCH_MEMORY_SCANS ?? 1);
const HEAP_DIR = process.env.BENCH_MEMORY_HEAP_DIR;

export interface Serving {
  ca: string;
  certFile: string;
  keyFile: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** VmRSS of a process in MiB (`field` VmHWM: its peak so far). */
export function rssMiB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const kb = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** A compile cache filled like the image's (same flags, this user). */
function warmCompileCache(): string {
  const dir = benchTempDir('bulwark-bench-compile-cache-');
  const r = spawnSync(process.execPath, [...IMAGE_FLAGS, 'scripts/warm-compile-cache.ts'], {
    cwd: ROOT,
    env: { ...process.env, NODE_COMPILE_CACHE: dir },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`warm-compile-cache failed: ${r.stderr}`);
  return dir;
}

/** Starts serve, waits until `ready` says so, returns the process and its log lines. */
async function serve(
  args: string[],
  options: { cache?: string; ready: () => Promise<boolean>; flags?: string[]; cwd?: string },
): Promise<{ child: ChildProcess; lines: string[]; readyMs: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (options.cache) env.NODE_COMPILE_CACHE = options.cache;
  else delete env.NODE_COMPILE_CACHE;
  const started = Date.now();
  const flags = [...IMAGE_FLAGS, ...(options.flags ?? [])];
  const child = spawn(process.execPath, [...flags, join(ROOT, 'bin/bulwark.js'), 'serve', ...args], {
    cwd: options.cwd ?? ROOT,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let rest = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    lines.push(...parts);
  });
  for (let i = 0; i < 1200; i++) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`);
    if (await options.ready().catch(() => false)) return { child, lines, readyMs: Date.now() - started };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error('serve did not become ready within 120 s');
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const fmt = (mib: number) => `${mib.toFixed(0).padStart(4)} MiB`;

/** Standalone (`--cluster none`): idle, with 1,000 policy files, and after saturating it. */
export async function benchMemoryStandalone(
  serving: Serving,
  saturate: { body: Buffer; seconds: number },
  freePort: () => Promise<number>,
): Promise<void> {
  if (process.env.BENCH_MEMORY_STANDALONE === '0') return;
  console.log(`\n== Memory: RSS of one \`bulwark serve --cluster none\` (node ${IMAGE_FLAGS.join(' ')})`);
  const cache = warmCompileCache();
  const policies = await writePolicyDir(POLICIES);
  for (const [label, withCache] of VARIANTS.filter(([, c]) => process.env.BENCH_MEMORY_VARIANT !== 'image' || c)) {
    const runs: [string, string[]][] = [['idle', []]];
    if (process.env.BENCH_MEMORY_POLICIES !== '0') runs.push([`${POLICIES} policy files`, ['--policies', policies]]);
    for (const [what, extra] of runs) {
      const port = await freePort();
      const args = ['--port', String(port), '--host', '127.0.0.1', '--cluster', 'none'];
      const level = process.env.BENCH_MEMORY_LOG_LEVEL ?? 'warn';
      const tls = ['--cert', serving.certFile, '--key', serving.keyFile, '--log-level', level];
      const { child, readyMs } = await serve([...args, ...tls, ...extra], {
        ...(withCache ? { cache } : {}),
        ready: () => readyz(port, serving.ca),
      });
      try {
        await sleep(SETTLE_MS);
        const idle = rssMiB(child.pid!);
        const ready = `ready in ${String(readyMs).padStart(5)} ms`;
        let line = `${label.padEnd(30)} ${what.padEnd(18)} ${ready}   idle ${fmt(idle)}`;
        if (what === 'idle' && process.env.BENCH_MEMORY_SATURATE !== '0') {
          const how = wrkAvailable() ? 'wrk' : 'Node generator';
          const rps = wrkAvailable()
            ? wrkThroughput(port, saturate.body, { connections: 16, seconds: saturate.seconds })
            : (await closedLoop(port, serving.ca, [saturate.body], { concurrency: 16, seconds: saturate.seconds })).rps;
          const loaded = rssMiB(child.pid!);
          const ratio = (loaded / idle).toFixed(2);
          const load = `${saturate.seconds} s saturation (${how}, ${rps.toFixed(0)} req/s)`;
          line += `   after ${load} ${fmt(loaded)} = ${ratio} x idle`;
        }
        console.log(line);
      } finally {
        await stop(child);
      }
    }
  }
  console.log(
    '   goals: idle <= 100 MiB; <= 150 MiB with 1,000 policies and 10,000 locked objects; saturation <= 1.5 x',
  );
}

/** Against a kube-apiserver with 1,000 ImmutabilityPolicies and 10,000 locked ConfigMaps. */
export async function benchMemoryCluster(serving: Serving, freePort: () => Promise<number>): Promise<void> {
  console.log(
    `\n== Memory: serve against kube-apiserver, ${POLICIES} ImmutabilityPolicies, ${LOCKED} locked ConfigMaps`,
  );
  const cluster = await startCluster({ webhook: false });
  try {
    const { kubectl } = cluster;
    const create = (items: unknown[]) =>
      kubectlOk(kubectl, ['create', '-f', '-'], { input: stringify({ apiVersion: 'v1', kind: 'List', items }) });
    const t0 = Date.now();
    await kubectlOk(kubectl, ['create', 'namespace', 'bulwark-system']);
    const all = policySet(POLICIES);
    for (let i = 0; i < all.length; i += 250) await create(all.slice(i, i + 250));
    await createLockedConfigMaps(kubectl, { count: LOCKED, namespaces: 10, prefix: 'locked' });
    console.log(`   created in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    const cache = warmCompileCache();
    for (const [label, withCache] of VARIANTS.filter(([, c]) => process.env.BENCH_MEMORY_VARIANT !== 'image' || c)) {
      const port = await freePort();
      const { child, lines, readyMs } = await serve(
        [
          ...['--port', String(port), '--host', '127.0.0.1', '--cert', serving.certFile, '--key', serving.keyFile],
          ...['--kubeconfig', cluster.kubeconfig, '--cluster', 'required', '--namespace', 'bulwark-system'],
          // The leader's first audit scan comes one interval after the start.
          ...['--log-level', 'info', '--audit-interval', '15'],
        ],
        {
          ...(withCache ? { cache } : {}),
          ready: () => readyz(port, serving.ca),
          ...(HEAP_DIR ? { flags: ['--heapsnapshot-signal=SIGUSR2'], cwd: HEAP_DIR } : {}),
        },
      );
      try {
        await sleep(SETTLE_MS);
        const synced = rssMiB(child.pid!);
        console.log(`${label.padEnd(30)} ready in ${String(readyMs).padStart(5)} ms   policies synced ${fmt(synced)}`);
        for (let n = 1; n <= SCANS; n++) {
          const scans = () => lines.filter((l) => l.includes('"audit scan"'));
          for (let i = 0; i < 3000 && scans().length < n; i++) await sleep(100);
          const scan = scans()[n - 1];
          const { locked, seconds } = scan ? (JSON.parse(scan) as { locked?: number; seconds?: number }) : {};
          const afterScan = rssMiB(child.pid!);
          const peak = rssMiB(child.pid!, 'VmHWM');
          await sleep(SETTLE_MS);
          if (process.env.BENCH_MEMORY_SCAN_LINES) console.log(scan);
          console.log(
            `${''.padEnd(30)} after audit scan ${n} (${locked ?? '?'} locked, ${seconds?.toFixed(1) ?? '?'} s) ` +
              `${fmt(afterScan)}, ${SETTLE_MS / 1000} s later ${fmt(rssMiB(child.pid!))}, peak so far ${fmt(peak)}`,
          );
        }
        if (HEAP_DIR) {
          child.kill('SIGUSR2');
          await sleep(30_000);
          console.log(`   heap snapshot written to ${HEAP_DIR}`);
        }
      } finally {
        await stop(child);
      }
    }
  } finally {
    await cluster.stop();
  }
}

function readyz(port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', ca, servername: 'localhost' }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}
