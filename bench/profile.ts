// Where the CPU of a review goes in `bulwark serve --cluster none` under wrk: a
// `node --cpu-prof` profile per workload, its self time grouped by part of the request's
// way (TLS/HTTP, body read, JSON parse, schema, decision, diff, response build, metrics,
// log line, GC) and the functions that cost most. `node bench/profile.ts` (wrk needed;
// BENCH_SECONDS per workload, default 8; BENCH_PROFILE=parse-only profiles the parse-only
// responder instead; BENCH_PROFILE_KEEP=PREFIX keeps the .cpuprofile files). Proportions:
// it may run on a busy machine.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { writeGeneratedCertificates } from '../src/server/certificate-files.ts';
import { startServeProcess } from '../test/helpers/serve-process.ts';
import { benchReviews } from './reviews.ts';
import { benchTempDir } from './temp.ts';
import { wrkThroughput } from './wrk.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The part of the request's way a source file belongs to (first match wins). */
const GROUPS: [string, RegExp][] = [
  ['metrics', /prom-client|observability\/metrics/],
  ['log line', /pino|sonic-boom|log-decision|observability\/(logger|bounded)/],
  ['body read', /server\/(read-body|body-budget)/],
  ['JSON parse', /src\/json\//],
  ['schema', /admission\/(review-schema|decode)/],
  ['diff', /src\/diff\//],
  ['response build', /review\/encode|validate-handler/],
  ['decision', /src\/(review|rules|decision|policy)\//],
  ['server glue', /src\/server\/|src\/main\.ts/],
  ['start-up (module loading)', /internal\/modules\//],
  ['TLS/HTTP', /^node:|internal\//],
];

function groupOf(url: string, name: string): string | undefined {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)' || name === '(root)') return 'native, no JS on the stack (program)';
  if (!url) return undefined;
  return GROUPS.find(([, re]) => re.test(url))?.[0] ?? 'other';
}

/** Self time (ms) by group and by function; a builtin (no url) counts for its nearest caller's group. */
export function summarise(profile: Profile): { groups: Map<string, number>; functions: Map<string, number> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const leaf = byId.get(id)!;
    let group: string | undefined;
    for (let n: ProfileNode | undefined = leaf; n && !group; n = byId.get(parent.get(n.id) ?? -1))
      group = groupOf(n.callFrame.url, n.callFrame.functionName);
    const g = group ?? 'other';
    groups.set(g, (groups.get(g) ?? 0) + ms);
    const f = leaf.callFrame;
    const where = `${f.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
    const name = `${f.functionName || '(anonymous)'} ${where} [${g}]`;
    if (g !== 'idle') functions.set(name, (functions.get(name) ?? 0) + ms);
  });
  return { groups, functions };
}

function print(title: string, values: Map<string, number>, top: number, total: number, reviews: number): void {
  console.log(title);
  for (const [name, ms] of [...values].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const share = `${((100 * ms) / total).toFixed(1).padStart(5)}%`;
    console.log(`  ${share}  ${((ms * 1000) / reviews).toFixed(1).padStart(6)} us  ${name}`);
  }
}

/** `bulwark serve` or the parse-only responder, profiled into `dir`. */
async function startProfiled(server: 'bulwark' | 'parse-only', dir: string) {
  const prof = ['--cpu-prof', '--cpu-prof-dir', dir];
  if (server === 'bulwark') return startServeProcess(['--log-level', 'info'], prof);
  const tls = await writeGeneratedCertificates(benchTempDir('bulwark-profile-tls-'));
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
  const args = [...prof, join(import.meta.dirname, 'noop-responder.ts'), String(port), tls.certFile, tls.keyFile];
  const child = spawn(process.execPath, [...args, 'parse'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout!, 'data'); // "ready"
  const exited = once(child, 'exit');
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function main(): Promise<void> {
  const which = process.env.BENCH_PROFILE === 'parse-only' ? 'parse-only' : 'bulwark';
  for (const w of await benchReviews()) {
    const dir = benchTempDir('bulwark-profile-');
    const server = await startProfiled(which, dir);
    let requests: number;
    try {
      wrkThroughput(server.port, w.bodies[0]!, { connections: 16, seconds: 1 }); // warm-up, profiled too
      requests = wrkThroughput(server.port, w.bodies[0]!, { connections: 16, seconds: SECONDS }) * SECONDS;
    } finally {
      await server.stop();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
    if (process.env.BENCH_PROFILE_KEEP)
      copyFileSync(join(dir, file), `${process.env.BENCH_PROFILE_KEEP}-${w.expect}.cpuprofile`);
    const { groups, functions } = summarise(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile);
    const idle = groups.get('idle') ?? 0;
    const busy = [...groups.values()].reduce((a, b) => a + b, 0) - idle;
    console.log(
      `\n== ${which}, ${w.name}: about ${requests.toFixed(0)} reviews; busy ${busy.toFixed(0)} ms sampled ` +
        `(us per review: sampled time, the profiler's own cost included)`,
    );
    groups.delete('idle');
    print('self time by group (share of busy samples)', groups, 20, busy, requests);
    print('top functions by self time', functions, 30, busy, requests);
  }
}

if (import.meta.main) await main();
