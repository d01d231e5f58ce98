// Manifests and waits for the full-cluster tests that drive Kubernetes' own controllers:
// workloads of the locally built `hello` image (an HTTP server with /healthz) or, for
// pods that must finish, of Bulwark's image running `node -e`.

import { stringify } from 'yaml';
import { kubectlOk } from '../../harness/kubectl.ts';
import { readVersions } from '../../harness/node/versions.ts';
import { fullCluster, kubectl, kubectlJson, LOCK_LABEL, until } from './context.ts';

export const { HELLO_IMAGE } = readVersions();
export const LOCK = { [LOCK_LABEL.key]: LOCK_LABEL.value };

export const helloContainer = () => ({
  name: 'hello',
  image: HELLO_IMAGE,
  imagePullPolicy: 'IfNotPresent',
  readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
});

/** A container that exits 0 after `ms` (Bulwark's image holds node). */
export const exitingContainer = (ms = 500) => ({
  name: 'task',
  image: fullCluster().image.reference,
  imagePullPolicy: 'IfNotPresent',
  command: ['node', '-e', `setTimeout(() => process.exit(0), ${ms})`],
});

export interface PodTemplateOptions {
  app: string;
  lockedTemplate?: boolean;
}

export function podTemplate(options: PodTemplateOptions, containers: unknown[] = [helloContainer()]) {
  return {
    metadata: { labels: { app: options.app, ...(options.lockedTemplate ? LOCK : {}) } },
    spec: { terminationGracePeriodSeconds: 1, containers },
  };
}

export function deployment(
  namespace: string,
  name: string,
  replicas: number,
  options: { locked?: boolean; lockedTemplate?: boolean } = {},
) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, ...(options.locked ? { labels: LOCK } : {}) },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: podTemplate({ app: name, ...(options.lockedTemplate ? { lockedTemplate: true } : {}) }),
    },
  };
}

export const yaml = (...objects: unknown[]) => objects.map((o) => stringify(o)).join('---\n');

export async function apply(...objects: unknown[]): Promise<void> {
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: yaml(...objects) });
}

interface PodList {
  items: {
    metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
    status: { phase?: string; conditions?: { type: string; status: string }[] };
  }[];
}

export const podsOf = (namespace: string, selector: string) =>
  kubectlJson<PodList>(['get', 'pods', '-n', namespace, '-l', selector]);
export const isReady = (pod: PodList['items'][number]) =>
  pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** Waits until exactly `count` pods match, none terminating, all Ready; returns their names. */
export async function readyPods(
  namespace: string,
  selector: string,
  count: number,
  deadlineMs = 120_000,
): Promise<string[]> {
  return until(
    `${count} Ready pods ${selector} in ${namespace}`,
    async () => {
      const pods = (await podsOf(namespace, selector)).items;
      return pods.length === count && pods.every((p) => !p.metadata.deletionTimestamp && isReady(p))
        ? pods.map((p) => p.metadata.name)
        : undefined;
    },
    deadlineMs,
  );
}

/** Bulwark's log lines (JSON) of its pods since `since`, parsed. */
export async function bulwarkDecisions(since: string): Promise<
  {
    decision: string;
    user: string;
    operation: string;
    kind: string;
    name: string;
    namespace?: string;
    reasons?: string[];
  }[]
> {
  const out = await kubectlOk(kubectl, [
    'logs',
    '-n',
    'bulwark-system',
    '-l',
    'app.kubernetes.io/name=bulwark',
    '--since-time',
    since,
    '--tail=-1',
    '--prefix=false',
  ]);
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as never)
    .filter((l: { msg?: string }) => l.msg === 'admission decision');
}
