// `npm run capture-controller-fixtures`: records the AdmissionReviews that Kubernetes' own
// controllers send when they work on locked objects, on the full cluster (`npm run cluster
// -- up --full`, then `npm run cluster -- reload` so that its Bulwark lets them finish),
// into test/fixtures/reviews/controller-*.json. A recorder listens in next to the chart's
// Bulwark (an extra webhook configuration, failurePolicy Ignore, that allows everything);
// Bulwark still decides. Each fixture is the review of a real controller at work, except
// the service controller's: no cloud provider runs here, so its patch is sent through the
// apiserver under its identity (impersonation), as k8s.io/cloud-provider sends it.
// `npm run capture-controller-fixtures -- NAME...` rewrites only the fixtures named.

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { parseJsonLossless } from '../src/json/parse.ts';
import { kubectlOk, kubectlRunner, type Kubectl } from '../harness/kubectl.ts';
import { attachFullCluster } from '../harness/node/reuse.ts';
import { nodeBinary, REPO_ROOT } from '../harness/paths.ts';
import { freePort } from '../harness/ports.ts';
import { startProcess } from '../harness/processes.ts';
import { controllerScenarios, type Scenario } from './controller-scenarios.ts';

const OUT = join(REPO_ROOT, 'test', 'fixtures', 'reviews');
const ONLY = new Set(process.argv.slice(2));
const NS = 'capture-controllers';
const CONFIGURATION = 'bulwark-capture';

interface Recorded {
  operation: string;
  resource: { resource: string };
  subResource?: string;
  name?: string;
  userInfo: { username?: string };
  oldObject?: { metadata?: { deletionTimestamp?: string } };
}

function registration(url: string, caPem: string): string {
  const common = {
    clientConfig: { url, caBundle: Buffer.from(caPem).toString('base64') },
    failurePolicy: 'Ignore',
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    timeoutSeconds: 5,
    namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [NS] }] },
  };
  return stringify({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: CONFIGURATION },
    webhooks: [
      {
        name: 'locked.capture.bulwark.dev',
        rules: [
          { apiGroups: ['*'], apiVersions: ['*'], resources: ['*/*'], operations: ['UPDATE', 'DELETE'], scope: '*' },
        ],
        objectSelector: { matchLabels: { 'bulwark.dev/immutable': 'true' } },
        ...common,
      },
      {
        name: 'evictions.capture.bulwark.dev',
        rules: [
          {
            apiGroups: [''],
            apiVersions: ['v1'],
            resources: ['pods/eviction'],
            operations: ['CREATE'],
            scope: 'Namespaced',
          },
        ],
        ...common,
      },
    ],
  });
}

async function main(): Promise<void> {
  const cluster = attachFullCluster();
  const kubectl: Kubectl = kubectlRunner({
    kubectlPath: cluster.tools.kubectl!,
    kubeconfig: cluster.kubeconfig,
    cacheDir: join(cluster.dir, 'kube-cache'),
  });
  const recorded = join(REPO_ROOT, '.cluster-capture', 'controllers');
  rmSync(recorded, { recursive: true, force: true });
  mkdirSync(recorded, { recursive: true });
  const port = await freePort();
  const recorder = startProcess({
    name: 'recorder',
    command: nodeBinary(),
    args: [
      join(REPO_ROOT, 'test', 'e2e', 'capture', 'recorder.ts'),
      '--port',
      String(port),
      '--cert',
      join(cluster.dir, 'webhook.crt'),
      '--key',
      join(cluster.dir, 'webhook.key'),
      '--out',
      recorded,
      '--allow-all',
    ],
    logFile: join(recorded, '..', 'recorder.log'),
  });
  const kept: string[] = [];
  try {
    await kubectlOk(kubectl, ['create', 'namespace', NS]);
    await kubectlOk(kubectl, ['apply', '-f', '-'], {
      input: registration(
        `https://127.0.0.1:${port}/validate`,
        readFileSync(join(cluster.dir, 'webhook-ca.crt'), 'utf8'),
      ),
    });
    await sleep(3000); // the apiserver loads webhook configurations asynchronously
    const seen = new Set<string>();
    const keep = async (scenario: Scenario) => {
      const deadline = Date.now() + 90_000;
      for (;;) {
        const hit = readdirSync(recorded)
          .sort()
          .filter((f) => !seen.has(f))
          .find((f) => {
            const r = JSON.parse(readFileSync(join(recorded, f), 'utf8')).request as Recorded;
            return scenario.match(r);
          });
        if (hit) {
          seen.add(hit);
          if (ONLY.size === 0 || ONLY.has(scenario.name)) {
            writeFileSync(
              join(OUT, `${scenario.name}.json`),
              `${JSON.stringify(parseJsonLossless(readFileSync(join(recorded, hit), 'utf8')), null, 2)}\n`,
            );
            kept.push(scenario.name);
            console.error(`[capture] ${scenario.name} <- ${hit}`);
          }
          return;
        }
        if (Date.now() > deadline) throw new Error(`no review recorded for ${scenario.name}`);
        await sleep(500);
      }
    };
    for (const scenario of controllerScenarios(NS, cluster)) {
      await scenario.act(kubectl);
      await keep(scenario);
    }
  } finally {
    await kubectl(['delete', 'validatingwebhookconfiguration', CONFIGURATION]);
    await recorder.stop();
  }
  console.error(`[capture] wrote ${kept.length} fixtures; namespace ${NS} is left as it is (it holds locked objects)`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
