// `node bench/running-pods.ts`: what one audit scan of running Pods' images costs
// (ledger/running-pods.ts), on a bare local kube-apiserver (the harness's; Pods created
// directly, Pending) and a real registry with real cosign signatures, with the verifier,
// cache and limits Bulwark runs with. N Pods (BENCH_PODS, default 1000) share K images
// (BENCH_IMAGES, default 10). Scans: cold (empty cache), warm (all cached), and after a
// policy change (a new resourceVersion: every verification again), then with the key rotated
// away (every Pod fails: an Event each, once). Prints for each the
// time, apiserver requests, registry rounds (verifications not in the cache) and HTTP
// requests to the registry, and the heap growth. Not a test: figures vary with the machine.

import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startCluster } from '../harness/cluster.ts';
import { kubectlOk } from '../harness/kubectl.ts';
import { createKubeReader, loadKubeConfig } from '../src/cluster/kube-client.ts';
import { cachedVerifier } from '../src/image-verification/cache.ts';
import { tagResolver } from '../src/image-verification/resolve-tag.ts';
import { createVerifier } from '../src/image-verification/verify.ts';
import { createPodAudit } from '../src/ledger/running-pods.ts';
import { createLogger } from '../src/observability/logger.ts';
import { createRegistryClient } from '../src/registry/client.ts';
import {
  cosignSign,
  generateKeyPair,
  pushRandomImage,
  registryTools,
  startRegistry,
} from '../test/e2e/helpers/registry.ts';
import { imagePolicy } from '../test/helpers/policies.ts';
import { policyStore } from '../test/helpers/snapshots.ts';
import { benchTempDir } from './temp.ts';

const PODS = Number(process.env.BENCH_PODS ?? 1000);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 10);
const NAMESPACES = 10;

async function main(): Promise<void> {
  const dir = benchTempDir('bulwark-bench-pods-');
  const tools = await registryTools();
  const registry = await startRegistry('oci-registry', tools, join(dir, 'registry'));
  const cluster = await startCluster({ webhook: false });
  try {
    const key = await generateKeyPair(tools, join(dir, 'key'));
    const images: string[] = [];
    for (let i = 0; i < IMAGES; i++) {
      const digest = await pushRandomImage(tools, `${registry.host}/bench/app${i}:1`, join(dir, 'layers'));
      images.push(`${registry.host}/bench/app${i}@${digest}`);
      await cosignSign(tools, key, images[i]!, 'bundle');
    }
    const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `bench-${i}`);
    for (const ns of namespaces) await kubectlOk(cluster.kubectl, ['create', 'namespace', ns]);
    for (let from = 0; from < PODS; from += 200) {
      const items = Array.from({ length: Math.min(200, PODS - from) }, (_, j) => {
        const n = from + j;
        return {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `pod-${n}`, namespace: namespaces[n % NAMESPACES] },
          spec: { containers: [{ name: 'app', image: images[n % IMAGES] }] },
        };
      });
      await kubectlOk(cluster.kubectl, ['create', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
      });
    }

    const reader = createKubeReader((await loadKubeConfig('required', cluster.kubeconfig))!);
    let apiRequests = 0;
    let registryRequests = 0;
    const registryClient = createRegistryClient({ onRequest: () => registryRequests++ });
    const verifier = cachedVerifier(createVerifier({ registry: registryClient }));
    const audit = createPodAudit({
      client: reader,
      informers: { namespaceLabels: () => ({}) },
      verifier,
      resolveTag: tagResolver(registryClient, undefined),
      excludedNamespaces: ['kube-system'],
      logger: createLogger('error', new Writable({ write: (_c, _e, done) => done() })),
      metrics: { setRunningPodImages: () => {}, setAuditListingComplete: () => {} },
      onRequest: () => apiRequests++,
    });
    const store = policyStore({ sources: [] });
    const other = await generateKeyPair(tools, join(dir, 'other'));
    const policy = (resourceVersion: string, publicKey = key.publicKeyPem) => ({
      ...imagePolicy('bench', {
        images: [`${registry.host}/bench/**`],
        registry: { insecure: true },
        authorities: [{ name: 'release', key: { publicKey } }],
      }),
      metadata: { name: 'bench', uid: 'uid-bench', resourceVersion },
    });
    store.upsert('ImagePolicy', policy('1'));

    console.log(`\n== Running-pod audit: ${PODS} Pods in ${NAMESPACES} namespaces, ${IMAGES} signed images`);
    const scan = async (label: string) => {
      apiRequests = 0;
      registryRequests = 0;
      const heap = process.memoryUsage().heapUsed;
      const started = process.hrtime.bigint();
      const r = await audit.scan(store.snapshot());
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const grown = (process.memoryUsage().heapUsed - heap) / 1024 / 1024;
      console.log(
        `${label.padEnd(22)} ${ms.toFixed(0).padStart(6)} ms  pods ${r.pods} judged ${r.judged}` +
          `  deferred ${r.deferred}` +
          `  failing ${r.findings.length}  apiserver requests ${apiRequests}  registry rounds ${r.lookups}` +
          `  registry HTTP requests ${registryRequests}  heap ${grown >= 0 ? '+' : ''}${grown.toFixed(1)} MiB`,
      );
    };
    await scan('cold (empty cache)');
    await scan('warm (all cached)');
    await scan('warm again');
    store.upsert('ImagePolicy', policy('2'));
    await scan('after a policy change');
    // Every Pod fails: one Warning Event each, once.
    store.upsert('ImagePolicy', policy('3', other.publicKeyPem));
    await scan('key rotated away');
    await scan('same, again');
    registryClient.close();
  } finally {
    await cluster.stop();
    await registry.stop();
  }
}

await main();
