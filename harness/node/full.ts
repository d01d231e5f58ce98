// The node half of a full cluster, started after etcd and the apiserver: the
// controller-manager and scheduler, containerd with the CNI bridge, the kubelet,
// kube-proxy; meanwhile Bulwark's image is built from the Dockerfile; then it is
// loaded into the node and installed with `helm install`. What teardown needs is
// recorded in the cluster state before the first of these processes starts.

import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kubectl } from '../kubectl.ts';
import { logTail, type ManagedProcess } from '../processes.ts';
import type { ToolPaths } from '../tools.ts';
import { startContainerd, waitContainerd, importImages, containerdPaths } from './containerd.ts';
import { startControllers } from './controllers.ts';
import { dockerEngine } from './docker.ts';
import { NODE_NAME, writeComponentKubeconfigs, type ComponentTokens } from './identities.ts';
import { buildBulwarkImage, localBaseImage, type BuiltImage } from './image.ts';
import { CGROUP_ROOT, kubeletPaths, startKubelet } from './kubelet.ts';
import { startKubeProxy } from './kube-proxy.ts';
import { BRIDGE, writeCniConfig } from './network.ts';
import { helmRunner, installBulwark, RELEASE } from './release.ts';
import { recordSysctls } from './sysctls.ts';
import type { NodeState } from './teardown.ts';
import { readVersions } from './versions.ts';

export type FullClusterTool =
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kubelet'
  | 'kube-proxy'
  | 'containerd'
  | 'containerd-shim-runc-v2'
  | 'ctr'
  | 'crictl'
  | 'cni-plugins'
  | 'node-images'
  | 'runc'
  | 'helm'
  | 'dockerd'
  | 'node-base';

export interface NodeTimings {
  controllersReady: number;
  containerdReady: number;
  nodeReady: number;
  imageBuilt: number;
  imageBuildMs: number;
  bulwarkReady: number;
}

export interface NodeContext {
  dir: string;
  detached: boolean;
  onStart: (process: ManagedProcess) => void;
  tools: ToolPaths<FullClusterTool>;
  server: string;
  apiserverCaFile: string;
  serviceAccountPrivateKeyFile: string;
  kubeletClientCaFile: string;
  componentTokens: ComponentTokens;
  hostAddress: string;
  ports: {
    controllerManager: number;
    scheduler: number;
    kubelet: number;
    kubeletHealthz: number;
    proxyHealthz: number;
    proxyMetrics: number;
  };
  kubectl: Kubectl;
  /** Records the node's teardown facts in state.json (before anything starts). */
  recordNode: (node: NodeState) => Promise<void>;
  log: (message: string) => void;
  since: () => number;
}

export interface StartedNode {
  image: BuiltImage;
  timings: NodeTimings;
}

async function waitNodeReady(kubectl: Kubectl, kubelet: ManagedProcess, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let last = 'not registered';
  while (Date.now() < deadline) {
    if (kubelet.exitStatus() !== undefined) throw kubeletEnded(kubelet);
    const r = await kubectl([
      'get',
      'node',
      NODE_NAME,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].message}',
    ]);
    if (r.code === 0) {
      if (r.stdout.startsWith('True')) return;
      last = r.stdout.trim() || 'no Ready condition yet';
    }
    await sleep(500);
  }
  throw new Error(`node ${NODE_NAME} not Ready after ${deadlineMs / 1000} s (${last}); see ${kubelet.logFile}`);
}

function kubeletEnded(kubelet: ManagedProcess): Error {
  return new Error(
    `the kubelet ended (${kubelet.exitStatus()}); ${kubelet.logFile} ends with:\n${logTail(kubelet.logFile, 10)}`,
  );
}

async function waitNodeRegistered(kubectl: Kubectl, kubelet: ManagedProcess, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while ((await kubectl(['get', 'node', NODE_NAME, '-o', 'name'])).code !== 0) {
    if (kubelet.exitStatus() !== undefined) throw kubeletEnded(kubelet);
    if (Date.now() > deadline)
      throw new Error(`node ${NODE_NAME} did not register within ${deadlineMs / 1000} s; see ${kubelet.logFile}`);
    await sleep(250);
  }
}

export async function startNode(ctx: NodeContext): Promise<StartedNode> {
  const { tools, dir, log } = ctx;
  await ctx.recordNode({
    containerdSocket: containerdPaths(dir).socket,
    crictlPath: tools.crictl,
    kubeProxyPath: tools['kube-proxy'],
    bridge: BRIDGE,
    cgroupRoot: CGROUP_ROOT,
    podLogsDir: kubeletPaths(dir).podLogs,
    sysctls: recordSysctls(),
  });
  const timings: Partial<NodeTimings> = {};

  // The image builds while the node comes up: the build waits on the network, the node on the CPU.
  const imageBuild = (async () => {
    const engine = await dockerEngine({ dockerdPath: tools.dockerd, logDir: dir, log });
    try {
      const base = await localBaseImage(engine, tools['node-base']);
      log(`building Bulwark's image from the Dockerfile (NODE_IMAGE=${base})`);
      const image = await buildBulwarkImage({ engine, baseImage: base, outputDir: dir });
      timings.imageBuilt = ctx.since();
      timings.imageBuildMs = image.buildMs;
      log(
        `built ${image.reference} (${(image.sizeBytes / 1e6).toFixed(0)} MB) in ${(image.buildMs / 1000).toFixed(1)} s`,
      );
      return image;
    } finally {
      await engine.stop();
    }
  })();
  // Never an unhandled rejection while the node starts; the error surfaces at the await below.
  imageBuild.catch(() => {});
  try {
    return await bringUpNode(ctx, imageBuild, timings);
  } catch (err) {
    // Let the build finish, so that a private dockerd stops cleanly before teardown.
    await imageBuild.catch(() => {});
    throw err;
  }
}

async function bringUpNode(
  ctx: NodeContext,
  imageBuild: Promise<BuiltImage>,
  timings: Partial<NodeTimings>,
): Promise<StartedNode> {
  const { tools, dir, log } = ctx;
  const versions = readVersions();
  const paths = containerdPaths(dir);

  const kubeconfigs = await writeComponentKubeconfigs(
    dir,
    ctx.server,
    await readFile(ctx.apiserverCaFile, 'utf8'),
    ctx.componentTokens,
  );
  await startControllers({
    dir,
    detached: ctx.detached,
    onStart: ctx.onStart,
    controllerManagerPath: tools['kube-controller-manager'],
    schedulerPath: tools['kube-scheduler'],
    kubeconfigs,
    serviceAccountPrivateKeyFile: ctx.serviceAccountPrivateKeyFile,
    rootCaFile: ctx.apiserverCaFile,
    ports: { controllerManager: ctx.ports.controllerManager, scheduler: ctx.ports.scheduler },
  });
  timings.controllersReady = ctx.since();
  log(`kube-controller-manager and kube-scheduler ready (${timings.controllersReady} ms)`);

  await writeCniConfig(paths.cniConfDir, join(dir, 'cni', 'ipam'));
  const containerd = await startContainerd({
    dir,
    detached: ctx.detached,
    onStart: ctx.onStart,
    containerdPath: tools.containerd,
    shimPath: tools['containerd-shim-runc-v2'],
    runcPath: tools.runc,
    cniBinDir: dirname(tools['cni-plugins']),
    sandboxImage: versions.PAUSE_IMAGE,
  });
  await waitContainerd(containerd, tools.ctr);
  const imagesDir = dirname(tools['node-images']);
  await importImages(tools.ctr, paths.socket, [join(imagesDir, 'pause.tar'), join(imagesDir, 'hello.tar')]);
  timings.containerdReady = ctx.since();
  log(`containerd ready with ${versions.PAUSE_IMAGE} and ${versions.HELLO_IMAGE} (${timings.containerdReady} ms)`);

  const kubelet = await startKubelet({
    dir,
    detached: ctx.detached,
    onStart: ctx.onStart,
    kubeletPath: tools.kubelet,
    kubeconfig: kubeconfigs.kubelet,
    containerdSocket: paths.socket,
    nodeAddress: ctx.hostAddress,
    port: ctx.ports.kubelet,
    healthzPort: ctx.ports.kubeletHealthz,
    clientCaFile: ctx.kubeletClientCaFile,
  });
  await waitNodeRegistered(ctx.kubectl, kubelet, 60_000);
  await startKubeProxy({
    dir,
    detached: ctx.detached,
    onStart: ctx.onStart,
    kubeProxyPath: tools['kube-proxy'],
    kubeconfig: kubeconfigs['kube-proxy'],
    healthzPort: ctx.ports.proxyHealthz,
    metricsPort: ctx.ports.proxyMetrics,
  });
  await waitNodeReady(ctx.kubectl, kubelet, 120_000);
  timings.nodeReady = ctx.since();
  log(`node ${NODE_NAME} Ready, kube-proxy running (${timings.nodeReady} ms)`);

  const image = await imageBuild;
  await importImages(tools.ctr, paths.socket, [image.tarball]);
  log(`loaded ${image.reference} into the node; helm install ${RELEASE} (2 replicas)`);
  await installBulwark({
    helm: helmRunner({ helmPath: tools.helm, kubeconfig: join(dir, 'kubeconfig'), dir }),
    kubectl: ctx.kubectl,
    image,
  });
  timings.bulwarkReady = ctx.since();
  log(`Bulwark's 2 replicas Ready behind its Service (${timings.bulwarkReady} ms)`);
  return { image, timings: timings as NodeTimings };
}
