// Measures one drift audit scan over N locked objects on a real apiserver (issue 14):
//   node_modules/.bin/node --expose-gc scripts/measure-audit.ts [N=10000]   (Node 24 of the checkout)
// A bare control plane (etcd + kube-apiserver, no webhook) gets N locked ConfigMaps in 10
// namespaces; the audit runs in this process as main.ts wires it. Printed: the first scan
// (which writes every seal) and a steady-state scan (nothing changed): wall time, apiserver
// requests, and this process's heap and RSS growth.

import { keyRingOf } from '../src/attestation/keys.ts';
import { createDiscovery } from '../src/cluster/discovery.ts';
import { createKubeReader, loadKubeConfig } from '../src/cluster/kube-client.ts';
import { createAuditor } from '../src/ledger/auditor.ts';
import { createLogger } from '../src/observability/logger.ts';
import { createMetrics } from '../src/observability/metrics.ts';
import { createPolicyCompiler } from '../src/policy/compiler.ts';
import { PolicyStore } from '../src/policy/store.ts';
import { startCluster } from '../harness/cluster.ts';
import { kubectlOk } from '../harness/kubectl.ts';
import { createLockedConfigMaps } from '../harness/locked-objects.ts';

const N = Number(process.argv[2] ?? 10_000);
const NAMESPACES = 10;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

const cluster = await startCluster({ webhook: false, log: (m) => process.stderr.write(`[cluster] ${m}\n`) });
try {
  const t0 = Date.now();
  await createLockedConfigMaps(cluster.kubectl, { count: N, namespaces: NAMESPACES, prefix: 'audit' });
  await kubectlOk(cluster.kubectl, ['create', 'namespace', 'bulwark-system']);
  process.stderr.write(`created ${N} locked ConfigMaps in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

  const reader = createKubeReader((await loadKubeConfig('required', cluster.kubeconfig))!);
  const keys = keyRingOf(new Map([['20261129T000000Z-measure', new Uint8Array(32).fill(5)]]))!;
  const store = new PolicyStore({ compiler: createPolicyCompiler(), sources: [], attestation: keys });
  const auditor = createAuditor({
    client: reader,
    discovery: createDiscovery(reader, { timeoutMs: 30_000 }),
    store,
    informers: { unlocksFor: () => [], namespaceLabels: () => ({}) },
    logger: createLogger('warn'),
    metrics: createMetrics({ collectDefaults: false }),
    isLeader: () => true,
    intervalMs: 60_000,
    namespace: 'bulwark-system',
  });
  for (const label of ['first scan (writes every seal)', 'steady-state scan']) {
    globalThis.gc?.();
    const before = process.memoryUsage();
    // Peak during the scan, sampled: the lists are held while they are judged.
    let peakHeap = before.heapUsed;
    let peakRss = before.rss;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakRss = Math.max(peakRss, m.rss);
    }, 20);
    const result = (await auditor.scan())!;
    clearInterval(sampler);
    globalThis.gc?.();
    const after = process.memoryUsage();
    process.stdout.write(
      `${label}: ${result.seconds.toFixed(2)} s, ${result.requests} apiserver requests, ` +
        `${result.sealed} sealed, ${result.written} seals written, ${result.drift.length} drift; ` +
        `heap ${mb(before.heapUsed)} before, peak ${mb(peakHeap)}, ${mb(after.heapUsed)} after; ` +
        `rss ${mb(before.rss)} before, peak ${mb(peakRss)}\n`,
    );
  }
} finally {
  await cluster.stop();
}
