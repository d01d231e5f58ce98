// A full cluster that is already up (`npm run cluster -- up --full`), reused instead of
// started: a full-cluster test run costs a minute of start and teardown, and iterating on
// one test file should not. Attaching reads the cluster's recorded state (.cluster/state.json
// and the cluster directory); reloading brings Bulwark in it up to date with the worktree:
// the image is rebuilt from the Dockerfile (Docker's cache makes an unchanged tree cheap),
// loaded into the node when it is new, and the release upgraded with the chart's defaults,
// so every run starts from the release a fresh cluster would have.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../paths.ts';
import { kubectlRunner } from '../kubectl.ts';
import { readState, runningProcesses, type ClusterState } from '../state.ts';
import { USER_NAMES, type Tokens } from '../users.ts';
import { importImages } from './containerd.ts';
import { dockerEngine } from './docker.ts';
import { buildBulwarkImage, localBaseImage, type BuiltImage } from './image.ts';
import { CHART_DIR, helmRunner, RELEASE, RELEASE_NAMESPACE } from './release.ts';

/** Where `cluster up` records the cluster it started. */
export const LOCAL_STATE = join(REPO_ROOT, '.cluster', 'state.json');

export interface AttachedCluster {
  state: ClusterState;
  dir: string;
  kubeconfig: string;
  server: string;
  tokens: Tokens;
  tools: Record<string, string>;
  containerdSocket: string;
  /** The image the release runs now. */
  image: string;
}

/** The tokens of the cluster's users, read back from the apiserver's token file. */
function readTokens(dir: string): Tokens {
  const tokens: Partial<Tokens> = {};
  for (const line of readFileSync(join(dir, 'tokens.csv'), 'utf8').split('\n')) {
    const [token, user] = line.split(',');
    if (token && user && (USER_NAMES as string[]).includes(user)) tokens[user as keyof Tokens] = token;
  }
  for (const user of USER_NAMES)
    if (!tokens[user]) throw new Error(`${join(dir, 'tokens.csv')} has no token for ${user}`);
  return tokens as Tokens;
}

/** The running full cluster recorded in `file`; an error that says what to do when there is none. */
export function attachFullCluster(file = LOCAL_STATE): AttachedCluster {
  const state = readState(file) as (ClusterState & { tools?: Record<string, string>; image?: string }) | undefined;
  if (!state?.node || !state.server)
    throw new Error(`no full cluster is recorded in ${file}: start one with \`npm run cluster -- up --full\``);
  const running = runningProcesses(state);
  if (running.length !== state.processes.length) {
    const stopped = state.processes.filter((p) => !running.includes(p)).map((p) => p.name);
    throw new Error(
      `the full cluster in ${state.dir} is not whole (${stopped.join(', ')} not running): ` +
        '`npm run cluster -- down`, then `up --full`',
    );
  }
  const kubeconfig = join(state.dir, 'kubeconfig');
  if (!existsSync(kubeconfig)) throw new Error(`${kubeconfig} is missing`);
  return {
    state,
    dir: state.dir,
    kubeconfig,
    server: state.server,
    tokens: readTokens(state.dir),
    tools: state.tools ?? {},
    containerdSocket: state.node.containerdSocket,
    image: state.image ?? '',
  };
}

/**
 * Rebuilds Bulwark's image from the worktree, loads it into the node when it changed and
 * upgrades the release to the chart's defaults with it (`--reset-values --wait`).
 */
export async function reloadBulwark(
  cluster: AttachedCluster,
  log: (message: string) => void = () => {},
): Promise<BuiltImage> {
  const { tools } = cluster;
  for (const tool of ['dockerd', 'node-base', 'ctr', 'helm', 'kubectl']) {
    if (!tools[tool])
      throw new Error(`the recorded cluster names no ${tool} tool; restart it with \`npm run cluster -- up --full\``);
  }
  const engine = await dockerEngine({ dockerdPath: tools.dockerd!, logDir: cluster.dir, log });
  let image: BuiltImage;
  try {
    image = await buildBulwarkImage({
      engine,
      baseImage: await localBaseImage(engine, tools['node-base']!),
      outputDir: cluster.dir,
    });
  } finally {
    await engine.stop();
  }
  if (image.reference !== cluster.image) {
    await importImages(tools.ctr!, cluster.containerdSocket, [image.tarball]);
    log(`loaded ${image.reference} into the node`);
  }
  const helm = helmRunner({ helmPath: tools.helm!, kubeconfig: cluster.kubeconfig, dir: cluster.dir });
  await helm(
    [
      'upgrade',
      RELEASE,
      CHART_DIR,
      '--namespace',
      RELEASE_NAMESPACE,
      '--reset-values',
      '--set',
      `image.repository=${image.repository}`,
      '--set',
      `image.tag=${image.tag}`,
      '--wait',
      '--timeout',
      '5m',
    ],
    { timeoutMs: 330_000 },
  );
  const kubectl = kubectlRunner({
    kubectlPath: tools.kubectl!,
    kubeconfig: cluster.kubeconfig,
    cacheDir: join(cluster.dir, 'kube-cache'),
  });
  const rollout = await kubectl(
    ['rollout', 'status', `deployment/${RELEASE}`, '-n', RELEASE_NAMESPACE, '--timeout=180s'],
    { timeoutMs: 190_000 },
  );
  if (rollout.code !== 0) throw new Error(`Bulwark did not roll out ${image.reference}: ${rollout.stderr.trim()}`);
  log(`release ${RELEASE} runs ${image.reference} with the chart's defaults`);
  return image;
}

/** Records the image the release now runs in the state file, for the next attach. */
export function recordImage(reference: string, file = LOCAL_STATE): void {
  const state = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  state.image = reference;
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}
