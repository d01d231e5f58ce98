// Feeds the policy store from the cluster: one resilient informer per policy kind, and
// one for Namespaces (their labels are a fact that namespace selectors need).

import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { BaseError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import {
  POLICY_GROUP,
  POLICY_KINDS,
  POLICY_VERSION,
  UNLOCK_KINDS,
  unlockPath,
  type PolicyKind,
  type UnlockKind,
} from '../policy/crds.ts';
import type { CompiledUnlock } from '../policy/compile-unlock.ts';
import type { PolicyCompiler } from '../policy/compiler.ts';
import type { PolicyStore } from '../policy/store.ts';
import { resilientInformer, type ResilientInformer } from './informer.ts';
import type { KubeReader } from './kube-client.ts';

export const NAMESPACE_SOURCE = 'Namespace';
export const CLUSTER_SOURCES = [...Object.keys(POLICY_KINDS), NAMESPACE_SOURCE, ...Object.keys(UNLOCK_KINDS)] as const;

export interface ClusterInformers {
  namespaceLabels(name: string): Readonly<Record<string, string>> | undefined;
  /** Every cached namespace with its labels. */
  namespaces(): { name: string; labels: Readonly<Record<string, string>> }[];
  /**
   * Unlock requests of both kinds whose target has this namespace and name (any kind: the rule
   * checks kind). A cluster-scoped object (namespace undefined) never gets a LocalUnlockRequest:
   * those always carry their own namespace as their target's.
   */
  unlocksFor(namespace: string | undefined, name: string): readonly CompiledUnlock[];
  /** Sources whose watch is broken now (within the resync grace or past it). */
  broken(): readonly string[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Used when the caller gives none: see `resyncGraceSeconds` in the config. */
export const DEFAULT_RESYNC_GRACE_MS = 10_000;

const LIST_TIMEOUT_MS = 30_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
// Namespaces are watched for their labels alone: metadata only, never their spec or status.
const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const METADATA_WATCH = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

// What the caches keep (issue 19): a policy or unlock request without its managedFields and
// kubectl's copy of the last applied manifest (often as large as the rest); of a namespace,
// its name and labels.
function withoutBookkeeping(o: KubernetesObject): KubernetesObject {
  if (!o.metadata) return o;
  const { managedFields: _managed, annotations, ...metadata } = o.metadata;
  const { [LAST_APPLIED]: _applied, ...kept } = annotations ?? {};
  return { ...o, metadata: { ...metadata, ...(annotations ? { annotations: kept } : {}) } };
}

function namespaceLabelsOnly(o: KubernetesObject): KubernetesObject {
  const { name, uid, resourceVersion, labels } = o.metadata ?? {};
  return { metadata: { name, uid, resourceVersion, ...(labels ? { labels } : {}) } } as KubernetesObject;
}

export function createClusterInformers(options: {
  reader: KubeReader;
  store: PolicyStore;
  compiler: PolicyCompiler;
  logger: Logger;
  /**
   * After a watch breaks, how long the store keeps deciding from its last complete state
   * while the watch resumes; past it the store is unsynced (every request refused).
   */
  resyncGraceMs?: number;
  /** Injectable for tests: the informers' retry backoff. */
  delay?: (ms: number) => Promise<void>;
  /** Injectable for tests: the resync grace's wait. */
  graceDelay?: (ms: number) => Promise<void>;
}): ClusterInformers {
  const { reader, store, compiler, logger } = options;
  const informers: ResilientInformer<KubernetesObject>[] = [];
  const resyncGraceMs = options.resyncGraceMs ?? DEFAULT_RESYNC_GRACE_MS;
  const graceDelay = options.graceDelay ?? sleep;
  /** Sources that completed a read and whose watch is up. */
  const live = new Set<string>();
  /** Broken watches, each with the token of its pending grace (replaced or dropped on resync). */
  const broken = new Map<string, object>();
  let stopped = false;

  // A broken watch resumes from its last resourceVersion and then delivers what it missed
  // (a 410 relists): within the grace, the last state is as good as one a slow watch gives.
  // Refusing at once would block every legitimate write for the second it takes to resume,
  // which every CRD update causes.
  function watchBroke(source: string): void {
    if (broken.has(source)) return;
    const token = {};
    broken.set(source, token);
    if (!live.delete(source) || resyncGraceMs === 0) {
      store.markUnsynced(source);
      return;
    }
    void graceDelay(resyncGraceMs).then(() => {
      if (stopped || broken.get(source) !== token) return;
      logger.error(
        { source, graceMs: resyncGraceMs },
        'informer not re-synced within the grace: refusing every request until it is',
      );
      store.markUnsynced(source);
    });
  }

  function watchResynced(source: string): void {
    broken.delete(source);
    live.add(source);
    store.markSynced(source);
  }

  function watch(
    source: string,
    path: string,
    handlers: { upsert(o: KubernetesObject): void; remove(o: KubernetesObject): void },
    metadataOnly = false,
  ) {
    const informer = resilientInformer<KubernetesObject>({
      name: source,
      reader,
      path,
      transform: metadataOnly ? namespaceLabelsOnly : withoutBookkeeping,
      list: async () => {
        const list = await reader.getJson(path, {
          timeoutMs: LIST_TIMEOUT_MS,
          ...(metadataOnly ? { accept: METADATA_LIST } : {}),
        });
        if (list === undefined)
          throw new BaseError('KUBE_API_ERROR', `${path} does not exist: are Bulwark's CRDs installed?`, {
            upstream: { status: 404 },
          });
        return list as KubernetesListObject<KubernetesObject>;
      },
      ...(options.delay ? { delay: options.delay } : {}),
      ...(metadataOnly ? { accept: METADATA_WATCH } : {}),
      handlers: {
        ...handlers,
        synced: () => {
          logger.info({ source }, 'informer synced');
          watchResynced(source);
        },
        error: (err, retryInMs) => {
          const wasLive = live.has(source);
          watchBroke(source);
          logger.error(
            { source, err: (err as Error)?.message ?? String(err), retryInMs, graceMs: wasLive ? resyncGraceMs : 0 },
            wasLive && resyncGraceMs > 0
              ? 'informer failed; deciding from the last synced state during the grace; restarting with backoff'
              : 'informer failed; not ready until it has synced; restarting with backoff',
          );
        },
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
  const namespaces = watch(NAMESPACE_SOURCE, '/api/v1/namespaces', { upsert: () => {}, remove: () => {} }, true);

  // Unlock requests of both kinds, compiled once per change and indexed by their target's
  // namespace/name (uids are unique across kinds).
  const unlocksByUid = new Map<string, CompiledUnlock>();
  let unlockIndex: Map<string, CompiledUnlock[]> | undefined;
  const unlockKey = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;
  for (const kind of Object.keys(UNLOCK_KINDS) as UnlockKind[]) {
    watch(kind, unlockPath(kind), {
      upsert: (o) => {
        const compiled = compiler.unlock({ ...o, kind });
        if (compiled.ok) unlocksByUid.set(o.metadata?.uid ?? '', compiled.unlock);
        else {
          unlocksByUid.delete(o.metadata?.uid ?? '');
          logger.warn({ kind, name: o.metadata?.name, problems: compiled.problems }, `ignoring an invalid ${kind}`);
        }
        unlockIndex = undefined;
      },
      remove: (o) => {
        unlocksByUid.delete(o.metadata?.uid ?? '');
        unlockIndex = undefined;
      },
    });
  }

  return {
    namespaceLabels: (name) => {
      const ns = namespaces.get(name);
      return ns ? (ns.metadata?.labels ?? {}) : undefined;
    },
    namespaces: () =>
      namespaces.list().map((ns) => ({ name: ns.metadata?.name ?? '', labels: ns.metadata?.labels ?? {} })),
    unlocksFor(namespace, name) {
      if (!unlockIndex) {
        unlockIndex = new Map();
        for (const u of unlocksByUid.values()) {
          const k = unlockKey(u.target.namespace, u.target.name);
          unlockIndex.set(k, [...(unlockIndex.get(k) ?? []), u]);
        }
      }
      return unlockIndex.get(unlockKey(namespace, name)) ?? [];
    },
    broken: () => [...broken.keys()],
    async start() {
      await Promise.all(informers.map((i) => i.start()));
    },
    async stop() {
      stopped = true;
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
