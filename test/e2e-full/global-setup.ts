// vitest globalSetup of the e2e-full project: one full single-node cluster for the run
// (controllers, kubelet with containerd, kube-proxy; Bulwark's image built from the
// Dockerfile and installed by `helm install`), taken down in teardown. Teardown fails
// the run if anything of the node is left on the machine (process, mount, interface,
// iptables chain, cgroup): `cluster down` must leave no trace, and every run checks it.
//
// BULWARK_E2E_KEEP=1 keeps the cluster directory (logs) after the run.
// BULWARK_E2E_REUSE=1 uses the full cluster `npm run cluster -- up --full` started instead,
// brought up to date with the worktree first (node/reuse.ts), and leaves it running.

import { dirname } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startCluster, type Cluster } from '../../harness/cluster.ts';
import type { ProvidedCluster } from '../../harness/provided.ts';
import { attachFullCluster, recordImage, reloadBulwark } from '../../harness/node/reuse.ts';
import type { FullClusterInfo } from './context.ts';

let cluster: Cluster | undefined;

function provideAll(project: TestProject, info: FullClusterInfo): void {
  project.provide('fullCluster', info);
  // The same coordinates the bare e2e project provides, so that its test files (which use
  // harness/context.ts) can also run here, against the chart's webhooks.
  const provided: ProvidedCluster = {
    kubeconfig: info.kubeconfig,
    dir: info.dir,
    server: info.server,
    webhookPort: 0,
    kubectlPath: info.kubectlPath,
    tokens: info.tokens,
  };
  for (const [key, value] of Object.entries(provided) as [
    keyof ProvidedCluster,
    ProvidedCluster[keyof ProvidedCluster],
  ][]) {
    project.provide(key, value as never);
  }
}

async function reuse(project: TestProject): Promise<void> {
  const log = (m: string) => process.stderr.write(`[e2e-full cluster] ${m}\n`);
  const attached = attachFullCluster();
  log(`reusing the full cluster in ${attached.dir}`);
  const image = await reloadBulwark(attached, log);
  recordImage(image.reference);
  const tool = (name: string) => attached.tools[name] ?? '';
  provideAll(project, {
    kubeconfig: attached.kubeconfig,
    dir: attached.dir,
    server: attached.server,
    kubectlPath: tool('kubectl'),
    helmPath: tool('helm'),
    dockerdPath: tool('dockerd'),
    nodeBasePath: tool('node-base'),
    ctrPath: tool('ctr'),
    containerdSocket: attached.containerdSocket,
    nodeImagesDir: dirname(tool('node-images')),
    tokens: attached.tokens,
    image: { reference: image.reference, repository: image.repository, tag: image.tag, sizeBytes: image.sizeBytes },
    timings: {},
  });
}

export async function setup(project: TestProject): Promise<void> {
  if (process.env.BULWARK_E2E_REUSE === '1') return reuse(project);
  const keep = process.env.BULWARK_E2E_KEEP === '1';
  cluster = await startCluster({ full: true, keep, log: (m) => process.stderr.write(`[e2e-full cluster] ${m}\n`) });
  const node = cluster.node;
  if (!node) throw new Error('startCluster({ full: true }) returned no node');
  const info: FullClusterInfo = {
    kubeconfig: cluster.kubeconfig,
    dir: cluster.dir,
    server: cluster.server,
    kubectlPath: cluster.tools.kubectl,
    helmPath: (cluster.tools as Record<string, string>).helm ?? '',
    dockerdPath: (cluster.tools as Record<string, string>).dockerd ?? '',
    nodeBasePath: (cluster.tools as Record<string, string>)['node-base'] ?? '',
    ctrPath: (cluster.tools as Record<string, string>).ctr ?? '',
    containerdSocket: cluster.state.node?.containerdSocket ?? '',
    nodeImagesDir: dirname((cluster.tools as Record<string, string>)['node-images'] ?? ''),
    tokens: cluster.tokens,
    image: {
      reference: node.image.reference,
      repository: node.image.repository,
      tag: node.image.tag,
      sizeBytes: node.image.sizeBytes,
    },
    timings: { ...cluster.timings, ...node.timings },
  };
  provideAll(project, info);
}

export async function teardown(): Promise<void> {
  if (!cluster) return; // reused: it stays up
  const started = Date.now();
  const problems = (await cluster?.stop()) ?? [];
  process.stderr.write(
    `[e2e-full cluster] stopped ` +
      `in ${Date.now() - started} ms${process.env.BULWARK_E2E_KEEP === '1' ? `; kept ${cluster?.dir}` : ''}\n`,
  );
  cluster = undefined;
  if (problems.length > 0) throw new Error(`the full cluster left traces on this machine: ${problems.join('; ')}`);
}
