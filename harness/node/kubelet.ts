// The kubelet of the single node: containerd as its runtime, cgroupfs under a cgroup
// root of our own (so `cluster down` finds every pod cgroup), its root directory and
// pod logs under the cluster directory. Image garbage collection is off: images are
// imported from tarballs and could never be pulled back.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startProcess, type ManagedProcess } from '../processes.ts';
import { NODE_NAME } from './identities.ts';

/** Every pod's cgroup lives below this, in each cgroup v1 hierarchy (or the v2 tree). */
export const CGROUP_ROOT = '/bulwark-node';

export interface KubeletOptions {
  dir: string;
  kubeletPath: string;
  kubeconfig: string;
  containerdSocket: string;
  nodeAddress: string;
  port: number;
  healthzPort: number;
  /** CA of the apiserver's client certificate for logs and exec. */
  clientCaFile: string;
  detached: boolean;
  onStart?: (process: ManagedProcess) => void;
}

export interface KubeletPaths {
  root: string;
  podLogs: string;
}

export function kubeletPaths(dir: string): KubeletPaths {
  return { root: join(dir, 'kubelet'), podLogs: join(dir, 'pod-logs') };
}

/**
 * The kubelet requires its cgroup root to exist in every hierarchy. A new cpuset
 * cgroup starts with no CPUs and no memory nodes, so it inherits its parent's.
 */
function createCgroupRoot(): void {
  const top = '/sys/fs/cgroup';
  const unified = existsSync(join(top, 'cgroup.controllers'));
  const hierarchies = unified
    ? [top]
    : readdirSync(top)
        .filter((h) => h !== 'unified')
        .map((h) => join(top, h));
  for (const hierarchy of hierarchies) {
    const cgroup = join(hierarchy, CGROUP_ROOT);
    mkdirSync(cgroup, { recursive: true });
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      const inherited = join(hierarchy, file);
      if (!unified && existsSync(inherited) && readFileSync(join(cgroup, file), 'utf8').trim() === '') {
        writeFileSync(join(cgroup, file), readFileSync(inherited, 'utf8'));
      }
    }
  }
}

export async function startKubelet(options: KubeletOptions): Promise<ManagedProcess> {
  const paths = kubeletPaths(options.dir);
  createCgroupRoot();
  await mkdir(paths.root, { recursive: true, mode: 0o700 });
  await mkdir(paths.podLogs, { recursive: true, mode: 0o755 });
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // This machine has cgroup v1; since 1.35 the kubelet refuses it unless told otherwise.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: CGROUP_ROOT,
    containerRuntimeEndpoint: `unix://${options.containerdSocket}`,
    address: options.nodeAddress,
    port: options.port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: options.healthzPort,
    podLogsDir: paths.podLogs,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: options.clientCaFile },
    },
    authorization: { mode: 'Webhook' },
    clusterDomain: 'cluster.local',
    failSwapOn: false,
    // Another process's load must not evict the test's pods: only a real shortage does.
    evictionHard: {
      'memory.available': '100Mi',
      'nodefs.available': '1%',
      'imagefs.available': '1%',
      'nodefs.inodesFree': '1%',
    },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    // Room beyond the default 110 for a whole e2e-full run (see POD_SUBNET in network.ts).
    maxPods: 250,
    nodeStatusUpdateFrequency: '5s',
    syncFrequency: '10s',
    fileCheckFrequency: '10s',
    shutdownGracePeriod: '0s',
    // false: the kubelet sets the kernel sysctls it wants (panic, overcommit) instead of
    // refusing to start; sysctls.ts records them first and `cluster down` restores them.
    protectKernelDefaults: false,
    rotateCertificates: false,
    serverTLSBootstrap: false,
  };
  const configFile = join(options.dir, 'kubelet-config.yaml');
  await writeFile(configFile, stringify(config), { mode: 0o600 });
  return startProcess({
    name: 'kubelet',
    command: options.kubeletPath,
    args: [
      `--config=${configFile}`,
      `--kubeconfig=${options.kubeconfig}`,
      `--root-dir=${paths.root}`,
      `--cert-dir=${join(paths.root, 'pki')}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${options.nodeAddress}`,
      '--v=1',
    ],
    logFile: join(options.dir, 'kubelet.log'),
    detached: options.detached,
    ...(options.onStart ? { onStart: options.onStart } : {}),
  });
}
