// Running Pods whose images no longer pass the ImagePolicies in force (issue 14), found by the
// drift audit's leader at each scan (auditor.ts) and reported beside drift: policy
// `bulwark-images`, one result per image that does not pass (rules/images/running.ts), the Pod
// as its resource, a Warning Event on the Pod once per failure, and the metric
// bulwark_running_pods_failing_images. Every Pod not terminated is judged, in every namespace
// Bulwark is sent (not kube-system, not its own), by the policies, verifier and verification
// cache admission uses; registry work is bounded per scan (lookup-budget.ts). A Pod that
// passes again or is gone leaves the report at the next scan; a Pod whose lookups were
// deferred keeps its last findings until a scan judges it. The Pods are listed in pages
// (paged-list.ts): when the list's continue token expires (410, a big cluster), the list
// starts again without judging twice a Pod that did not change. A list that keeps expiring,
// or fails, leaves the scan incomplete: logged at warn, `complete: false` in the scan's log
// line, the gauge bulwark_audit_listing_complete{listing="running-pods"} 0; Pods it did
// not reach keep their last findings.

import type { KubeObject } from '../admission/types.ts';
import type { KubeClient } from '../cluster/kube-client.ts';
import type { ClusterInformers } from '../cluster/policy-informers.ts';
import type { RequestFacts } from '../decision/facts.ts';
import { messageOf } from '../errors.ts';
import type { CachedVerifier } from '../image-verification/cache.ts';
import { gatherImageFacts, type ImageGatherDeps } from '../image-verification/gather.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { PolicySnapshot } from '../policy/compiled.ts';
import { isTerminated, judgeRunningPod, podAsCreate } from '../rules/images/running.ts';
import { createLookupBudget } from './lookup-budget.ts';
import { isExpired, isListingError, listPaged, PAGE_SIZE } from './paged-list.ts';
import { postWarningEvent, type Finding, type ResultKind } from './report.ts';
import { countByWorst, findingOf } from './pod-findings.ts';

export const IMAGE_EVENT_REASON = 'BulwarkImageFailing';
/** Pods held for the second pass, per lookup of the budget (Pods share images: one lookup serves many). */
const LATER_PER_LOOKUP = 5;
const TIMEOUT = { timeoutMs: 30_000 };
const PODS = `/api/v1/pods?fieldSelector=${encodeURIComponent('status.phase!=Succeeded,status.phase!=Failed')}`;

export interface PodAuditLimits {
  /** Registry rounds at once. */
  concurrency: number;
  /** Registry rounds (verifications not in the cache, tag lookups) per scan. */
  lookupsPerScan: number;
  /** No registry round starts later than this into a scan. */
  scanBudgetMs: number;
  /** Per pod, waiting included: past it, its lookups are `error` (timeout). */
  podTimeoutMs: number;
}

export const DEFAULT_POD_AUDIT_LIMITS: PodAuditLimits = {
  concurrency: 4,
  lookupsPerScan: 200,
  scanBudgetMs: 60_000,
  podTimeoutMs: 30_000,
};

export interface PodAuditOptions {
  client: Pick<KubeClient, 'getJson' | 'call'>;
  informers: Pick<ClusterInformers, 'namespaceLabels'>;
  verifier: Pick<CachedVerifier, 'verify' | 'peek'>;
  resolveTag: ImageGatherDeps['resolveTag'];
  /** Namespaces no webhook sends: their Pods were never admitted by Bulwark, so are not judged. */
  excludedNamespaces: readonly string[];
  logger: Logger;
  metrics: Pick<Metrics, 'setRunningPodImages' | 'setAuditListingComplete'>;
  limits?: Partial<PodAuditLimits>;
  /** Pods per list request (default paged-list.ts's PAGE_SIZE; `--audit-page-size`). */
  pageSize?: number;
  onRequest?: () => void;
  now?: () => number;
}

export interface PodScan {
  findings: Finding[];
  pods: number;
  judged: number;
  deferred: number;
  /** Pods by their worst result. */
  failing: Record<ResultKind, number>;
  lookups: number;
  /** Apiserver requests: pages of Pods, Events. */
  requests: number;
  /** False when the list of Pods failed or kept expiring: Pods it did not reach keep their last findings. */
  complete: boolean;
}

/** Runs `work` on every item, at most `concurrency` at once. */
async function inPool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < items.length) await work(items[i++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export function createPodAudit(options: PodAuditOptions) {
  const { client, logger } = options;
  const limits = { ...DEFAULT_POD_AUDIT_LIMITS, ...options.limits };
  const now = options.now ?? Date.now;
  const excluded = new Set(options.excludedNamespaces);
  /** The last findings by Pod uid: only Pods that do not pass. */
  let current = new Map<string, Finding[]>();
  /** Events already written: `uid|field|message`, kept while the failure lasts. */
  let evented = new Set<string>();
  let requests = 0;
  /** Pods the last scan deferred: this scan spends its registry budget on them first. */
  let deferredLast = new Set<string>();
  const counted = () => {
    requests += 1;
    options.onRequest?.();
  };

  const get = (path: string) => {
    counted();
    return client.getJson(path, TIMEOUT);
  };

  async function warnOnce(findings: readonly Finding[], keep: Set<string>): Promise<void> {
    for (const f of findings) {
      if (f.result !== 'fail') continue;
      const key = `${f.target.uid}|${f.properties?.field ?? ''}|${f.message}`;
      keep.add(key);
      if (evented.has(key)) continue;
      const message =
        `Pod ${f.target.namespace}/${f.target.name} runs an image that no longer passes the ImagePolicies in ` +
        `force: ${f.message}`;
      counted();
      const written = await postWarningEvent(client, {
        target: f.target,
        reason: IMAGE_EVENT_REASON,
        message: message.slice(0, 1024),
        generateName: 'bulwark-image-',
      }).catch((err: unknown) => {
        logger.warn({ pod: f.target.name, err: messageOf(err) }, 'audit: cannot record an image Event');
        return false;
      });
      if (written) evented.add(key);
    }
  }

  /** One scan: every Pod judged (or deferred), the findings replaced, Events and metric written. */
  async function scan(snapshot: PolicySnapshot): Promise<PodScan> {
    const started = now();
    requests = 0;
    const budget = createLookupBudget({
      verifier: options.verifier,
      resolveTag: options.resolveTag,
      concurrency: limits.concurrency,
      maxLookups: limits.lookupsPerScan,
      deadline: started + limits.scanBudgetMs,
      timeoutMs: limits.podTimeoutMs,
      now,
    });
    const found = new Map<string, Finding[]>();
    const deferredNow = new Set<string>();
    /** Pods whose registry work waits for the pods deferred last time (at most a scan's worth of lookups). */
    const later = new Map<string, KubeObject>();
    /** Pods listed (and judgeable), and those of them judged: a Pod listed again after a 410 counts once. */
    const reached = new Set<string>();
    const judged = new Set<string>();
    /** Judges the pod; false when it needed registry work that was not done (then nothing is concluded). */
    const judge = async (pod: KubeObject, spend: boolean): Promise<boolean> => {
      const { namespace, name, uid } = pod.metadata as { namespace: string; name: string; uid: string };
      const labels = options.informers.namespaceLabels(namespace);
      const { deps, deferred } = budget.forPod(spend);
      const images = await gatherImageFacts(podAsCreate(pod), snapshot, labels, deps);
      if (deferred()) return false;
      judged.add(uid);
      deferredNow.delete(uid);
      const facts: RequestFacts = {
        now: now(),
        ...(labels ? { namespaceLabels: labels } : {}),
        ...(images ? { images } : {}),
      };
      const target = { apiVersion: 'v1', kind: 'Pod', namespace, name, uid };
      const results = judgeRunningPod(pod, snapshot, facts).map((f) => findingOf(target, f));
      if (results.length > 0) found.set(uid, results);
      else found.delete(uid);
      return true;
    };
    const keepLast = (uid: string) => {
      deferredNow.add(uid);
      judged.delete(uid);
      const before = current.get(uid);
      if (before && !found.has(uid)) found.set(uid, before);
    };
    /** A Pod an expired list held that the fresh one does not: deleted, or terminated since. */
    const forget = (uid: string) => {
      for (const kept of [found, deferredNow, later, reached, judged]) kept.delete(uid);
    };
    // When the last scan deferred pods, they go first: the others get the cache in the first pass and the
    // registry in a second one, while the budget lasts. So pods re-verified at every scan (a failure is cached
    // briefly) cannot starve the rest. When nothing waits, every pod may use the registry at once.
    const contested = deferredLast.size > 0;
    const attempt = async (pod: KubeObject, firstPass: boolean) => {
      const uid = pod.metadata!.uid!;
      if (firstPass) later.delete(uid); // listed again, changed: judged as it is now
      try {
        const spend = !firstPass || !contested || deferredLast.has(uid);
        if (await judge(pod, spend)) return;
        if (firstPass && !spend && later.size < LATER_PER_LOOKUP * limits.lookupsPerScan) later.set(uid, pod);
        else keepLast(uid);
      } catch (err) {
        keepLast(uid);
        logger.warn({ pod: pod.metadata?.name, err: messageOf(err) }, 'audit: cannot judge a running Pod');
      }
    };
    const judgeable = (pod: KubeObject) => {
      const { namespace, name, uid } = pod.metadata ?? {};
      return Boolean(namespace && name && uid && !excluded.has(namespace) && !isTerminated(pod));
    };
    let complete = true;
    // No ImagePolicy: every Pod passes, and not one is listed.
    if (snapshot.images.length > 0) {
      try {
        const { vanished } = await listPaged({ get, logger, pageSize: options.pageSize ?? PAGE_SIZE }, PODS, 'pods', {
          keep: (pod) => pod.metadata.uid,
          async onPage(listed) {
            const mine = listed.map(({ item }) => item).filter(judgeable);
            for (const pod of mine) reached.add(pod.metadata.uid);
            await inPool(mine, limits.concurrency, (pod) => attempt(pod, true));
          },
        });
        for (const uid of vanished) forget(uid);
      } catch (err) {
        if (!isListingError(err)) throw err;
        complete = false;
        const why = isExpired(err.failure) ? 'its continue token kept expiring' : messageOf(err.failure);
        logger.warn(
          { err: why },
          'audit: cannot list the running Pods to the end; those not reached keep their findings',
        );
        for (const [uid, before] of current) if (!reached.has(uid)) found.set(uid, before);
      }
      await inPool([...later.values()], limits.concurrency, (pod) => attempt(pod, false));
    }
    options.metrics.setAuditListingComplete('running-pods', complete);
    deferredLast = deferredNow;
    const deferred = deferredNow.size;
    current = found;
    const findings = [...found.values()].flat();
    const keep = new Set<string>();
    await warnOnce(findings, keep);
    evented = new Set([...evented].filter((k) => keep.has(k)));
    const failing = countByWorst(found.values());
    options.metrics.setRunningPodImages(failing);
    const pods = reached.size;
    return { findings, pods, judged: judged.size, deferred, failing, lookups: budget.lookups(), requests, complete };
  }

  return {
    scan,
    /** What the last scan found (for reports published between scans). */
    findings: (): Finding[] => [...current.values()].flat(),
  };
}
