// vitest globalSetup of the e2e project: one fresh cluster (etcd, kube-apiserver,
// Bulwark registered and proven to deny) for the whole e2e run, stopped in teardown.
// Test files get its coordinates with inject() (see harness/context.ts).
//
// BULWARK_E2E_KEEP=1 keeps the cluster directory (logs, etcd data) after the run. The
// e2e-chart project gets a cluster of its own where Bulwark is registered by the chart's
// webhook entries instead of the catch-all.

import type { TestProject } from 'vitest/node';
import { startCluster, type Cluster } from '../../harness/cluster.ts';
import type { ProvidedCluster } from '../../harness/provided.ts';

let cluster: Cluster | undefined;

export async function setup(project: TestProject): Promise<void> {
  const keep = process.env.BULWARK_E2E_KEEP === '1';
  const chart = project.name === 'e2e-chart';
  const tag = chart ? '[e2e-chart cluster]' : '[e2e cluster]';
  cluster = await startCluster({
    keep,
    // A paged list's later pages come from etcd, as before Kubernetes 1.34 (and on any apiserver
    // whose watch cache no longer holds the list's snapshot), so compacting etcd expires a continue
    // token (410): audit-relist.test.ts does that to the audit's lists.
    apiserverArgs: ['--feature-gates=ListFromCacheSnapshot=false'],
    log: (m) => process.stderr.write(`${tag} ${m}\n`),
    ...(chart ? { registration: 'chart' as const } : {}),
  });
  const provided: ProvidedCluster = {
    kubeconfig: cluster.kubeconfig,
    dir: cluster.dir,
    server: cluster.server,
    webhookPort: cluster.webhookPort,
    kubectlPath: cluster.tools.kubectl,
    tokens: cluster.tokens,
  };
  for (const [key, value] of Object.entries(provided) as [
    keyof ProvidedCluster,
    ProvidedCluster[keyof ProvidedCluster],
  ][]) {
    project.provide(key, value as never);
  }
}

export async function teardown(): Promise<void> {
  const started = Date.now();
  await cluster?.stop();
  if (cluster)
    process.stderr.write(
      `[e2e cluster] stopped ` +
        `in ${Date.now() - started} ms${process.env.BULWARK_E2E_KEEP === '1' ? `; kept ${cluster.dir}` : ''}\n`,
    );
  cluster = undefined;
}
