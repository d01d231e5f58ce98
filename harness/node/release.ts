// Bulwark installed the way users install it: `helm install` of charts/bulwark with
// the image that was just built and loaded into the node. The chart's own
// ValidatingWebhookConfiguration (all its entries, with their selectors) is then the
// one in force; nothing else registers a webhook in a full cluster.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { kubectlOk, type Kubectl } from '../kubectl.ts';
import { REPO_ROOT } from '../paths.ts';

const run = promisify(execFile);

export const RELEASE = 'bulwark';
export const RELEASE_NAMESPACE = 'bulwark-system';
export const CHART_DIR = join(REPO_ROOT, 'charts', 'bulwark');

export interface HelmTarget {
  helmPath: string;
  kubeconfig: string;
  /** Keeps helm's config, cache and data inside the cluster directory. */
  dir: string;
}

export type Helm = (args: string[], options?: { timeoutMs?: number }) => Promise<{ stdout: string; stderr: string }>;

export function helmRunner(target: HelmTarget): Helm {
  const env = {
    ...process.env,
    HELM_CONFIG_HOME: join(target.dir, 'helm', 'config'),
    HELM_CACHE_HOME: join(target.dir, 'helm', 'cache'),
    HELM_DATA_HOME: join(target.dir, 'helm', 'data'),
  };
  return async (args, options = {}) => {
    try {
      return await run(target.helmPath, [...args, '--kubeconfig', target.kubeconfig], {
        env,
        timeout: options.timeoutMs ?? 300_000,
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`helm ${args.slice(0, 2).join(' ')} failed: ${(e.stderr || e.message).trim()}`);
    }
  };
}

export interface InstallOptions {
  helm: Helm;
  kubectl: Kubectl;
  image: { repository: string; tag: string };
  /** Extra `--set` values. */
  values?: string[];
}

/** `helm install --wait`, then checks that both replicas are Ready behind the Service. */
export async function installBulwark(options: InstallOptions): Promise<void> {
  await options.helm(
    [
      'install',
      RELEASE,
      CHART_DIR,
      '--namespace',
      RELEASE_NAMESPACE,
      '--create-namespace',
      '--set',
      `image.repository=${options.image.repository}`,
      '--set',
      `image.tag=${options.image.tag}`,
      ...(options.values ?? []).flatMap((v) => ['--set', v]),
      '--wait',
      '--timeout',
      '5m',
    ],
    { timeoutMs: 330_000 },
  );
  const deployment = JSON.parse(
    await kubectlOk(options.kubectl, ['get', 'deployment', RELEASE, '-n', RELEASE_NAMESPACE, '-o', 'json']),
  ) as {
    spec: { replicas: number };
    status: { readyReplicas?: number };
  };
  if ((deployment.status.readyReplicas ?? 0) < deployment.spec.replicas) {
    throw new Error(
      `helm install returned but ` +
        `only ${deployment.status.readyReplicas ?? 0} of ${deployment.spec.replicas} Bulwark replicas are Ready`,
    );
  }
  const endpoints = await kubectlOk(options.kubectl, [
    'get',
    'endpointslices',
    '-n',
    RELEASE_NAMESPACE,
    '-l',
    `kubernetes.io/service-name=${RELEASE}`,
    '-o',
    'jsonpath={range .items[*].endpoints[?(@.conditions.ready==true)]}{.addresses[0]}{"\\n"}{end}',
  ]);
  const ready = endpoints.split('\n').filter(Boolean);
  if (ready.length < deployment.spec.replicas)
    throw new Error(
      `the Service ${RELEASE_NAMESPACE}/${RELEASE} has ${ready.length} ready endpoints, ` +
        `want ${deployment.spec.replicas}`,
    );
}
