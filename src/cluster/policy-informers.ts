// Feeds the policy store from the cluster: one resilient informer per policy kind, and
// one for Namespaces (their labels are a fact that namespace selectors need).

import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.ts';
import { POLICY_GROUP, POLICY_KINDS, POLICY_VERSION, type PolicyKind } from '../policy/crds.ts';
import type { PolicyStore } from '../policy/store.ts';
import { resilientInformer, type ResilientInformer } from './informer.ts';
import type { KubeReader } from './kube-client.ts';

export const NAMESPACE_SOURCE = 'Namespace';
export const CLUSTER_SOURCES = [...Object.keys(POLICY_KINDS), NAMESPACE_SOURCE] as const;

export interface ClusterInformers {
  namespaceLabels(name: string): Readonly<Record<string, string>> | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const LIST_TIMEOUT_MS = 30_000;

export function createClusterInformers(options: { reader: KubeReader; store: PolicyStore; logger: Logger; delay?: (ms: number) => Promise<void> }): ClusterInformers {
  const { reader, store, logger } = options;
  const informers: ResilientInformer<KubernetesObject>[] = [];

  function watch(source: string, path: string, handlers: { upsert(o: KubernetesObject): void; remove(o: KubernetesObject): void }) {
    const informer = resilientInformer<KubernetesObject>({
      name: source,
      kubeConfig: reader.kubeConfig,
      path,
      list: async () => {
        const list = await reader.getJson(path, { timeoutMs: LIST_TIMEOUT_MS });
        if (list === undefined) throw new Error(`${path} does not exist: are Bulwark's CRDs installed?`);
        return list as KubernetesListObject<KubernetesObject>;
      },
      ...(options.delay ? { delay: options.delay } : {}),
      handlers: {
        ...handlers,
        synced: () => {
          logger.info({ source }, 'informer synced');
          store.markSynced(source);
        },
        error: (err, retryInMs) => logger.error({ source, err: (err as Error)?.message ?? String(err), retryInMs }, 'informer failed; restarting with backoff'),
      },
    });
    informers.push(informer);
    return informer;
  }

  for (const kind of Object.keys(POLICY_KINDS) as PolicyKind[]) {
    watch(kind, `/apis/${POLICY_GROUP}/${POLICY_VERSION}/${POLICY_KINDS[kind].plural}`, {
      upsert: (o) => store.upsert(kind, { ...o, kind }),
      remove: (o) => store.remove(kind, o.metadata?.uid ?? ''),
    });
  }
  const namespaces = watch(NAMESPACE_SOURCE, '/api/v1/namespaces', { upsert: () => {}, remove: () => {} });

  return {
    namespaceLabels: (name) => {
      const ns = namespaces.get(name);
      return ns ? (ns.metadata?.labels ?? {}) : undefined;
    },
    async start() {
      await Promise.all(informers.map((i) => i.start()));
    },
    async stop() {
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
