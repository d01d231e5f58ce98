// The drift audit loop: the leader among Bulwark's replicas (cluster/leader.ts) periodically lists
// every locked object of every served kind (fresh discovery, so new CRDs are followed;
// label-selected on the server), judges each against its seal (rules/ledger/audit.ts),
// writes new seals and re-seals after approved unlocks (settle.ts), and reports drift
// (report.ts) with unreviewed emergency unlocks (unreviewed.ts). Between scans the leader
// watches the resources holding locks and judges each event (events.ts).
// Between scans it keeps only counts; objects are read, hashed and let go. Seals are
// written here, from what the loop observes, never on the request path (which only records
// who locked what, attributions.ts, and claims namespaces, rules/immutability/namespace-marks.ts).
// After each scan it keeps the namespace marks (namespace-marks.ts). With `pods`, each scan also
// judges the running Pods' images against the ImagePolicies in force (running-pods.ts), and
// their findings join the same reports.

import type { KubeObject } from '../admission/types.ts';
import { SEALS_PATH, type SealTarget } from '../attestation/seal.ts';
import { resourcePath, type ApiResource, type Discovery } from '../cluster/discovery.ts';
import type { KubeClient } from '../cluster/kube-client.ts';
import type { ClusterInformers } from '../cluster/policy-informers.ts';
import { messageOf } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { PolicyStore } from '../policy/store.ts';
import { createReporter, type Drift } from './report.ts';
import { unreviewedEmergencies } from './unreviewed.ts';
import { updateNamespaceMarks } from './namespace-marks.ts';
import { keyRingOf } from '../attestation/approval.ts';
import { createLockWatches, type WatchStart } from './watches.ts';
import { listLockedObjects } from './locked-objects.ts';
import { readSeals } from './seal-index.ts';
import { apiVersionOf, createEventJudge, type StoredSeal } from './events.ts';
import { createSettler, type Context } from './settle.ts';
import { createAttributionStore, createUnlockedChangeStore } from './attributions.ts';
import type { AttributionLookup } from '../rules/ledger/locked-by.ts';
import type { createPodAudit } from './running-pods.ts';
import type { UnlockedChangeLookup } from '../rules/ledger/unlocked-changes.ts';

const TIMEOUT = { timeoutMs: 30_000 };

/** The process's memory at the end of a scan (before its garbage is collected), in MiB, for its log line. */
function memoryMiB() {
  const mib = (bytes: number) => Math.round(bytes / 1048576);
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return {
    rss: mib(rss),
    heapTotal: mib(heapTotal),
    heapUsed: mib(heapUsed),
    external: mib(external),
    arrayBuffers: mib(arrayBuffers),
  };
}

export interface AuditorOptions {
  client: KubeClient;
  discovery: Discovery;
  store: PolicyStore;
  informers: Pick<ClusterInformers, 'unlocksFor' | 'namespaceLabels'>;
  logger: Logger;
  metrics: Metrics;
  /** Whether this replica leads (cluster/leader.ts): only the leader scans. */
  isLeader: () => boolean;
  intervalMs: number;
  /** Counts each apiserver request of a scan (for the measured figures). */
  onRequest?: () => void;
  /** With it, the leader also watches the resources holding locked objects (watches.ts); without, scans only. */
  watch?: boolean;
  /** Bulwark's namespace: where the admitting replicas record who locked what (attributions.ts). */
  namespace: string;
  /** With it, each scan also judges running Pods' images (running-pods.ts). */
  pods?: ReturnType<typeof createPodAudit>;
  /** Objects per list request of a scan (default locked-objects.ts's PAGE_SIZE). */
  pageSize?: number;
  /** Called after each completed scan (main.ts: gives the scan's garbage back, release-memory.ts). */
  afterScan?: () => void;
}

export interface ScanResult {
  drift: Drift[];
  sealed: number;
  written: number;
  requests: number;
  seconds: number;
}

export function createAuditor(options: AuditorOptions) {
  const { client, logger } = options;
  const pageSize = options.pageSize ? { pageSize: options.pageSize } : {};
  const reporter = createReporter({ client, logger });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let requests = 0;
  /** The drift found so far, by uid: only drifted objects (few), replaced by each scan, updated by watch events. */
  const drifted = new Map<string, Drift>();
  /** Unreviewed emergency unlocks from the last scan, reported beside the drift. */
  let unreviewed: Awaited<ReturnType<typeof unreviewedEmergencies>> = [];
  /** Each sealed object's current hash, by uid, so a watch event that leaves the content alone costs nothing. */
  const sealedHashes = new Map<string, string>();
  const get = (path: string) => {
    requests += 1;
    options.onRequest?.();
    return client.getJson(path, TIMEOUT);
  };
  const call = (method: string, path: string, body?: unknown) => {
    requests += 1;
    options.onRequest?.();
    return client.call(method, path, { ...(body ? { body: JSON.stringify(body) } : {}), ...TIMEOUT });
  };

  const attributions = createAttributionStore({ namespace: options.namespace, get, call, logger });
  const unlockedChanges = createUnlockedChangeStore({ namespace: options.namespace, get, call, logger });

  const settle = createSettler({
    call,
    informers: options.informers,
    sealedHashes,
    consume: (requestUid) => attributions.consume(requestUid),
    consumeChanges: (requestUid) => unlockedChanges.consume(requestUid),
    logger,
  });

  function context(): Context | undefined {
    const snapshot = options.store.snapshot();
    const keys = keyRingOf(snapshot.attestation);
    let read: Promise<AttributionLookup> | undefined;
    const lookup = () => (read ??= attributions.lookup());
    let changes: Promise<UnlockedChangeLookup> | undefined;
    const changeLookup = () => (changes ??= unlockedChanges.lookup());
    return keys && snapshot.synced
      ? { snapshot, keys, now: Date.now(), attributions: lookup, unlockedChanges: changeLookup }
      : undefined;
  }

  async function publish(count: (n: number) => void = () => {}): Promise<void> {
    const drift = [...drifted.values()];
    await reporter.report(drift, count, [...unreviewed, ...(options.pods?.findings() ?? [])]);
    const counts: Record<string, number> = {};
    for (const d of drift) counts[d.reason] = (counts[d.reason] ?? 0) + 1;
    options.metrics.setDrift(counts, sealedHashes.size);
  }

  async function scan(): Promise<ScanResult | undefined> {
    const started = process.hrtime.bigint();
    requests = 0;
    const ctx = context();
    if (!ctx) return undefined;
    const selector = `${ctx.snapshot.lockLabel.key}=${ctx.snapshot.lockLabel.value}`;
    const resources = (await options.discovery.current()).filter(
      (r) => r.verbs.includes('list') && !(r.group === 'bulwark.dev' && r.resource === 'seals'),
    );
    requests += 2; // aggregated discovery
    const watchFrom: WatchStart[] = [];
    const drift: Drift[] = [];
    let sealed = 0;
    let written = 0;
    sealedHashes.clear();
    const judge = async (uid: string, target: SealTarget, object: KubeObject | undefined, stored?: StoredSeal) => {
      const settled = await settle(ctx, uid, target, object, stored);
      if (settled === 'in-order') sealed += 1;
      else if (settled === 'written') {
        written += 1;
        sealed += 1;
      } else if (typeof settled === 'object') drift.push(settled);
    };
    // Page by page (locked-objects.ts): each object is judged while its page is in hand; after
    // it only its uid and namespace are kept (issue 19: 10,000 whole objects held at once
    // were most of the leader's memory).
    const seals = await readSeals({ get, logger, ...pageSize });
    const listed = new Set<string>();
    const lockedNamespaces = new Set<string>();
    const { complete: listingComplete } = await listLockedObjects(
      { get, logger, ...pageSize },
      resources,
      selector,
      {
        async onObject({ target, object }, again) {
          // One object served by two resources (an aliased kind) is judged once.
          if (listed.has(target.uid) && !again) return;
          listed.add(target.uid);
          if (target.namespace) lockedNamespaces.add(target.namespace);
          // Judged before its list expired, changed since: its seal may have been written meanwhile.
          await judge(target.uid, target, object, again ? await readSeal(target.uid) : seals.take(target.uid));
        },
        async onVanished(target, resource) {
          listed.delete(target.uid);
          await judge(target.uid, target, await sameObject([resource], target.uid, target), await readSeal(target.uid));
        },
      },
      watchFrom,
    );
    // Seals whose object was not listed locked: it was unlabelled or deleted since.
    for (const [uid, stored] of seals.rest()) {
      if (listed.has(uid)) continue;
      const t = stored.spec.target;
      await judge(uid, t ?? { apiVersion: '', kind: '', name: uid, uid }, await sameObject(resources, uid, t), stored);
    }
    await ctx.attributions();
    await ctx.unlockedChanges();
    const swept = (await attributions.sweep(ctx.now)) + (await unlockedChanges.sweep(ctx.now));
    unreviewed = await unreviewedEmergencies(client, TIMEOUT.timeoutMs).catch((err: unknown) => {
      logger.warn({ err: messageOf(err) }, 'audit: cannot list UnlockRequests for unreviewed emergencies');
      return [];
    });
    requests += 1;
    const pods = await judgePods(ctx.snapshot);
    drifted.clear();
    for (const d of drift) drifted.set(d.target.uid, d);
    await publish((n) => {
      requests += n;
    });
    options.metrics.setAuditListingComplete('locked-objects', listingComplete);
    const { snapshot, now } = ctx;
    const marks = await updateNamespaceMarks({ client, logger, snapshot, lockedNamespaces, listingComplete, now });
    requests += 1 + marks.marked + marks.unmarked + marks.conflicts;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    options.metrics.observeScan(seconds);
    logger.info(
      {
        locked: listed.size,
        sealed,
        written,
        drift: drift.length,
        marks,
        swept,
        pods,
        requests,
        seconds,
        memory: memoryMiB(),
      },
      'audit scan',
    );
    watches?.restart(watchFrom, selector);
    options.afterScan?.();
    return { drift, sealed, written, requests, seconds };
  }

  /** The running Pods' images; a failed scan keeps the last findings (logged, retried at the next scan). */
  async function judgePods(snapshot: Context['snapshot']) {
    if (!options.pods) return undefined;
    try {
      const { findings, ...figures } = await options.pods.scan(snapshot);
      requests += figures.requests;
      return { ...figures, findings: findings.length };
    } catch (err) {
      logger.warn({ err: messageOf(err) }, 'audit: cannot judge running Pods; keeping the last findings');
      return undefined;
    }
  }

  async function readSeal(uid: string): Promise<StoredSeal | undefined> {
    return (await get(`${SEALS_PATH}/${uid}`)) as StoredSeal | undefined;
  }

  /** The object the seal names, when it still exists with that uid. */
  async function sameObject(resources: readonly ApiResource[], uid: string, t: SealTarget | undefined) {
    const resource = resources.find((r) => apiVersionOf(r) === t?.apiVersion && r.kind === t?.kind);
    if (!resource || !t) return undefined;
    const current = (await get(resourcePath(resource, t.namespace, t.name))) as KubeObject | undefined;
    return current?.metadata?.uid === uid ? { ...current, apiVersion: t.apiVersion, kind: t.kind } : undefined;
  }

  const react = createEventJudge({
    context,
    sealedHashes,
    drifted,
    readSeal,
    sameObject,
    settle,
    publish: () => publish(),
    logger,
  });

  /** One thing at a time: a scan, or one event's judgement (seals are written read-modify-write). */
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  const watches = options.watch
    ? createLockWatches({
        reader: client,
        logger,
        onEvent: (resource, type, object) => {
          void exclusive(() => react(resource, type, object)).catch((err: unknown) =>
            logger.warn({ err: messageOf(err) }, 'audit: cannot judge a watch event; the next scan will'),
          );
        },
      })
    : undefined;

  async function tick(): Promise<void> {
    try {
      if (options.isLeader()) await exclusive(scan);
      else watches?.stop();
    } catch (err) {
      logger.error({ err: messageOf(err) }, 'audit scan failed; retrying at the next interval');
    }
  }

  return {
    scan,
    start() {
      timer = setInterval(() => {
        running ??= tick().finally(() => {
          running = undefined;
        });
      }, options.intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      watches?.stop();
      await running;
    },
  };
}
