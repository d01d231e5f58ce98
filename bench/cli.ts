// The command line's times, start-up included, as a user meets them: `bulwark --help`,
// `kubectl bulwark --help`, `bulwark test` of a small suite and of 1,000 cases, and
// `bulwark check` of 1,000 manifests against a snapshot. Measured with hyperfine (Debian
// package) when it is installed, else by timing runs here. Part of `npm run bench`;
// `npm run bench:cli` runs it alone. Goals: 300 ms for start-up, 2 s for the 1,000s.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { benchTempDir } from './temp.ts';

const ROOT = join(import.meta.dirname, '..');
const NODE = process.execPath;
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 10);

const configMap = (i: number, color: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: `cfg-${i}`, namespace: `team-${i % 10}`, labels: { 'bulwark.dev/immutable': 'true' } },
  data: { color, index: String(i) },
});

/** A suite of `count` cases (half denied changes, half identical re-applies) and a snapshot of `count` objects. */
async function writeInputs(count: number): Promise<{ suite: string; manifests: string; snapshot: string }> {
  const dir = benchTempDir('bulwark-bench-cli-');
  const cases = Array.from({ length: count }, (_, i) => ({
    name: `case ${i}`,
    old: configMap(i, 'blue'),
    new: configMap(i, i % 2 === 0 ? 'green' : 'blue'),
    expect: { allowed: i % 2 !== 0 },
  }));
  await mkdir(join(dir, 'suite'));
  await writeFile(
    join(dir, 'suite', 'bulwark-test.yaml'),
    stringify({ apiVersion: 'cli.bulwark.dev/v1alpha1', kind: 'PolicyTest', cases }),
  );
  const snapshot = {
    apiVersion: 'cli.bulwark.dev/v1alpha1',
    kind: 'ClusterSnapshot',
    takenAt: new Date().toISOString(),
    lockLabel: { key: 'bulwark.dev/immutable', value: 'true' },
    policies: [],
    unlocks: [],
    namespaces: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`team-${i}`, { team: String(i) }])),
    objects: Array.from({ length: count }, (_, i) => configMap(i, 'blue')),
  };
  await writeFile(join(dir, 'snapshot.yaml'), stringify(snapshot));
  const manifests = Array.from({ length: count }, (_, i) => stringify(configMap(i, i % 2 === 0 ? 'green' : 'blue')));
  await writeFile(join(dir, 'manifests.yaml'), manifests.join('---\n'));
  return { suite: join(dir, 'suite'), manifests: join(dir, 'manifests.yaml'), snapshot: join(dir, 'snapshot.yaml') };
}

const hasHyperfine = () => spawnSync('hyperfine', ['--version']).status === 0;

/**
 * Mean wall time in ms of `args` (exit codes 0 and 1 both count as a run) and, with
 * hyperfine, its CPU time (user + system): on a shared machine the wall time includes
 * waiting for a core, the CPU time does not.
 */
function measure(args: string[]): { wallMs: number; cpuMs?: number } {
  if (hasHyperfine()) {
    const file = join(benchTempDir('bulwark-bench-hyperfine-'), 'results.json');
    const command = [NODE, ...args].map((a) => `'${a}'`).join(' ');
    execFileSync('hyperfine', ['-N', '-i', '--warmup', '2', '--runs', String(RUNS), '--export-json', file, command], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    const { results } = JSON.parse(spawnSync('cat', [file], { encoding: 'utf8' }).stdout) as {
      results: { mean: number; user: number; system: number }[];
    };
    const r = results[0]!;
    return { wallMs: r.mean * 1000, cpuMs: (r.user + r.system) * 1000 };
  }
  const times: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const started = performance.now();
    spawnSync(NODE, args, { cwd: ROOT, stdio: 'ignore' });
    if (i >= 2) times.push(performance.now() - started);
  }
  return { wallMs: times.reduce((a, b) => a + b, 0) / times.length };
}

export async function benchCli(): Promise<void> {
  const inputs = await writeInputs(1000);
  console.log(
    `\n== command line (mean of ${RUNS} runs${hasHyperfine() ? ', hyperfine' : ''}; Node ${process.version})`,
  );
  const rows: [string, string[], number][] = [
    ['node -e 0 (the floor)', ['-e', '0'], 0],
    ['bulwark --help', ['bin/bulwark.js', '--help'], 300],
    ['kubectl bulwark --help', ['bin/kubectl-bulwark.js', '--help'], 300],
    ['bulwark test (examples, 14 cases)', ['bin/bulwark.js', 'test', 'examples/policy-tests'], 300],
    ['bulwark test (1,000 cases)', ['bin/bulwark.js', 'test', inputs.suite], 2000],
    [
      'bulwark check (1,000 manifests, snapshot)',
      ['bin/bulwark.js', 'check', '-f', inputs.manifests, '--snapshot', inputs.snapshot],
      2000,
    ],
  ];
  for (const [name, args, goal] of rows) {
    const { wallMs, cpuMs } = measure(args);
    const cpu = cpuMs === undefined ? '' : ` (cpu ${cpuMs.toFixed(0).padStart(5)} ms)`;
    const verdict = goal === 0 ? '' : `   goal <= ${goal} ms: ${wallMs <= goal ? 'met' : 'NOT met'}`;
    console.log(`${name.padEnd(44)} ${wallMs.toFixed(0).padStart(6)} ms${cpu}${verdict}`);
  }
}

if (import.meta.filename === process.argv[1]) await benchCli();
