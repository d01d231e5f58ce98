// What e2e-full test files use: the full cluster's coordinates (inject('fullCluster')),
// kubectl (as admin, or `{ user: 'alice' }` and the other users) and helm bound to it,
// fresh namespaces, and a poll helper. Bulwark runs in the cluster as pods of the helm
// release `bulwark` in `bulwark-system`. The bare e2e project's coordinates are provided
// too, so its test files (harness/context.ts) can run against this cluster.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'vitest';
import { kubectlOk, kubectlRunner, type Kubectl } from '../../harness/kubectl.ts';
import type { Tokens } from '../../harness/users.ts';

import { helmRunner, type Helm } from '../../harness/node/release.ts';

export { CHART_DIR, RELEASE, RELEASE_NAMESPACE } from '../../harness/node/release.ts';
export { isImmutabilityDenial, LOCK_LABEL } from '../../harness/registration.ts';

export interface FullClusterInfo {
  kubeconfig: string;
  dir: string;
  server: string;
  kubectlPath: string;
  helmPath: string;
  /** For tests that run the image with Docker (a private engine is started when none runs). */
  dockerdPath: string;
  /** The local base image's root filesystem (NODE_IMAGE for builds here). */
  nodeBasePath: string;
  /** The node's containerd, for loading images as `kind load` does. */
  ctrPath: string;
  containerdSocket: string;
  /** Where the node's test images are (pause.tar, hello.tar). */
  nodeImagesDir: string;
  tokens: Tokens;
  /** Bulwark's image as built from the Dockerfile and loaded into the node. */
  image: { reference: string; repository: string; tag: string; sizeBytes: number };
  /** Milliseconds from the start of the cluster to each milestone. */
  timings: Record<string, number | undefined>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    fullCluster: FullClusterInfo;
  }
}

export function fullCluster(): FullClusterInfo {
  return inject('fullCluster');
}

let runner: Kubectl | undefined;

/** kubectl against the full cluster, as admin unless `user` is given. */
export const kubectl: Kubectl = (args, options) => {
  if (!runner) {
    const c = fullCluster();
    runner = kubectlRunner({
      kubectlPath: c.kubectlPath,
      kubeconfig: c.kubeconfig,
      cacheDir: join(c.dir, 'kube-cache'),
    });
  }
  return runner(args, options);
};

let helmRun: Helm | undefined;

/** helm against the full cluster (its config, cache and data inside the cluster directory). */
export const helm: Helm = (args, options) => {
  const c = fullCluster();
  helmRun ??= helmRunner({ helmPath: c.helmPath, kubeconfig: c.kubeconfig, dir: c.dir });
  return helmRun(args, options);
};

export const kubectlJson = async <T>(args: string[]): Promise<T> =>
  JSON.parse(await kubectlOk(kubectl, [...args, '-o', 'json'])) as T;

export async function newNamespace(prefix = 'full'): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await kubectlOk(kubectl, ['create', 'namespace', name]);
  return name;
}

/** Polls `check` until it returns a value other than undefined; throws naming `what` after the deadline. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, deadlineMs = 60_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${deadlineMs / 1000} s: ${what}`);
    await sleep(250);
  }
}
