// A local cluster for trying Bulwark by hand: etcd, kube-apiserver and Bulwark as
// background processes that outlive this command; with --full, a whole single-node
// cluster (controllers, kubelet with containerd, kube-proxy) with Bulwark built from
// the Dockerfile and installed by `helm install` (needs root; one per machine).
//
//   npm run cluster -- up [--no-webhook | --full]   start, write .cluster/{kubeconfig,state.json,bin/}
//   npm run cluster -- status                       which processes run, is the apiserver ready
//   npm run cluster -- reload                       (full) rebuild Bulwark's image from the worktree,
//                                                   upgrade the release
//   npm run cluster -- down                         stop every process and container, undo mounts,
//                                                   interfaces, iptables rules; remove the temp dir and .cluster/

import { copyFile, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { startCluster } from '../harness/cluster.ts';
import { REPO_ROOT } from '../harness/paths.ts';
import { get } from '../harness/poll.ts';
import { isAlive } from '../harness/pids.ts';
import { readState, runningProcesses, stopRecorded, type ClusterState } from '../harness/state.ts';
import { locateTools, type ToolName } from '../harness/tools.ts';
import { attachFullCluster, recordImage, reloadBulwark } from '../harness/node/reuse.ts';

const LOCAL_DIR = join(REPO_ROOT, '.cluster');
const STATE = join(LOCAL_DIR, 'state.json');
const LINKED_TOOLS: ToolName[] = ['kubectl', 'helm', 'cosign', 'crane'];
/** Also linked for a full cluster: what inspecting its node takes. */
const NODE_LINKED_TOOLS: ToolName[] = ['crictl', 'ctr'];

function say(message: string): void {
  process.stderr.write(`[cluster] ${message}\n`);
}

async function linkTools(binDir: string, available: Record<string, string>): Promise<string[]> {
  await mkdir(binDir, { recursive: true });
  const linked: string[] = [];
  for (const [name, path] of Object.entries(available)) {
    await symlink(path, join(binDir, name));
    linked.push(name);
  }
  return linked;
}

/** Tools already built; `up` never starts a long build for the optional ones. */
async function builtTools(full: boolean): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const name of [...LINKED_TOOLS, ...(full ? NODE_LINKED_TOOLS : [])]) {
    try {
      Object.assign(found, await locateTools([name], { build: name === 'kubectl' }));
    } catch {
      // not built: not linked
    }
  }
  return found;
}

async function up(withWebhook: boolean, full: boolean): Promise<number> {
  const existing = readState(STATE);
  if (existing && runningProcesses(existing).length > 0) {
    say(`a cluster is already up (${existing.server}); run \`npm run cluster -- down\` first`);
    return 1;
  }
  if (existing) await stopRecorded(existing, { graceMs: 1000 });
  await rm(LOCAL_DIR, { recursive: true, force: true });

  const cluster = await startCluster({ detached: true, webhook: withWebhook, full, log: say });
  cluster.release();
  await mkdir(LOCAL_DIR, { recursive: true });
  const kubeconfig = join(LOCAL_DIR, 'kubeconfig');
  await copyFile(cluster.kubeconfig, kubeconfig);
  const linked = await linkTools(join(LOCAL_DIR, 'bin'), await builtTools(full));
  const state: ClusterState & Record<string, unknown> = {
    ...cluster.state,
    webhookPort: cluster.webhookPort,
    timings: cluster.timings,
    tools: cluster.tools,
    ...(cluster.node ? { image: cluster.node.image.reference, nodeTimings: cluster.node.timings } : {}),
  };
  await writeFile(STATE, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });

  const rel = relative(process.cwd(), LOCAL_DIR) || '.';
  process.stdout.write(
    [
      '',
      `Cluster up: ${cluster.server} (apiserver ready in ${(cluster.timings.apiserverReady / 1000).toFixed(1)} s` +
        (cluster.timings.firstDenial
          ? `, Bulwark enforcing after ${(cluster.timings.firstDenial / 1000).toFixed(1)} s)`
          : ')'),
      cluster.node
        ? `Bulwark: helm release bulwark in bulwark-system, image ${cluster.node.image.reference}, 2 replicas ` +
          `Ready after ${(cluster.node.timings.bulwarkReady / 1000).toFixed(1)} s`
        : withWebhook
          ? `Bulwark: https://127.0.0.1:${cluster.webhookPort}/validate (log: ${join(cluster.dir, 'bulwark.log')})`
          : 'Bulwark: not started (--no-webhook)',
      `Logs and data: ${cluster.dir}`,
      `Tools in ${rel}/bin: ${linked.join(', ')}`,
      '',
      'Use it:',
      `  export KUBECONFIG=${kubeconfig}`,
      `  export PATH=${join(LOCAL_DIR, 'bin')}:$PATH`,
      '  kubectl get namespaces',
      '  kubectl --context alice auth whoami      # also bob, carol (approvers) and dave',
      '',
      'Objects labelled bulwark.dev/immutable=true cannot be changed or deleted while the webhook',
      `is registered (kubectl delete ` +
        `validatingwebhookconfiguration ${cluster.node ? 'bulwark' : 'bulwark-e2e'} lifts that). As with`,
      'the chart, self-protection lets only the policy admins (admin, erin, frank) change or delete it.',
      ...(cluster.node
        ? [
            `Node: kubectl get pods -A; crictl --runtime-endpoint ` +
              `unix://${cluster.state.node?.containerdSocket ?? '?'} ps`,
          ]
        : []),
      'Stop everything: npm run cluster -- down',
      '',
    ].join('\n'),
  );
  return 0;
}

async function down(): Promise<number> {
  const state = readState(STATE);
  if (!state) {
    say('no cluster is up (no .cluster/state.json)');
    await rm(LOCAL_DIR, { recursive: true, force: true });
    return 0;
  }
  const started = Date.now();
  const survivors = await stopRecorded(state);
  await rm(LOCAL_DIR, { recursive: true, force: true });
  // Stopped processes linger as zombies until PID 1 reaps them; give it a moment so
  // that `ps` right after `down` shows nothing.
  for (let i = 0; i < 40 && state.processes.some((p) => existsSync(`/proc/${p.pid}`)); i++) await sleep(50);
  const left = state.processes.filter((p) => isAlive(p.pid));
  if (survivors.length > 0 || left.length > 0) {
    say(`could not stop: ${[...survivors, ...left.map((p) => `${p.name} (pid ${p.pid})`)].join(', ')}`);
    return 1;
  }
  say(
    `stopped ${state.processes.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}; removed ${state.dir} and ` +
      `.cluster/ (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  return 0;
}

async function status(): Promise<number> {
  const state = readState(STATE);
  if (!state) {
    process.stdout.write('no cluster is up\n');
    return 1;
  }
  const running = new Set(runningProcesses(state).map((p) => p.pid));
  const lines = [`cluster ${state.server ?? '?'} started ${state.startedAt}, dir ${state.dir}`];
  for (const p of state.processes)
    lines.push(
      `  ${p.name.padEnd(24)} pid ${String(p.pid).padEnd(8)} ${running.has(p.pid) ? 'running' : 'NOT RUNNING'}  ` +
        `log ${p.logFile}`,
    );
  let ready = false;
  if (state.server && existsSync(join(state.dir, 'apiserver-ca.crt'))) {
    try {
      const config = parse(readFileSync(join(LOCAL_DIR, 'kubeconfig'), 'utf8')) as {
        users?: { name: string; user?: { token?: string } }[];
      };
      const token = config.users?.find((u) => u.name === 'admin')?.user?.token;
      const res = await get(`${state.server}/readyz`, {
        ca: readFileSync(join(state.dir, 'apiserver-ca.crt'), 'utf8'),
        ...(token ? { token } : {}),
      });
      ready = res.status === 200;
      lines.push(`  apiserver /readyz: HTTP ${res.status}`);
    } catch (err) {
      lines.push(`  apiserver /readyz: ${(err as Error).message}`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return ready && running.size === state.processes.length ? 0 : 1;
}

async function reload(): Promise<number> {
  const cluster = attachFullCluster(STATE);
  const image = await reloadBulwark(cluster, say);
  recordImage(image.reference, STATE);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'no-webhook': { type: 'boolean', default: false }, full: { type: 'boolean', default: false } },
  });
  switch (positionals[0]) {
    case 'up':
      return up(!values['no-webhook'], values.full);
    case 'down':
      return down();
    case 'status':
      return status();
    case 'reload':
      return reload();
    default:
      process.stderr.write('usage: npm run cluster -- up [--no-webhook | --full] | status | reload | down\n');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    say(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
