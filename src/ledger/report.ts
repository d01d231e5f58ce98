// How drift is reported: a Warning Event on the object (once per object, reason and
// message), and a PolicyReport per namespace (ClusterPolicyReport for cluster-scoped
// objects) in wgpolicyk8s.io/v1alpha2, the format Policy Reporter and Kyverno users read,
// when that CRD is installed. A report that no longer lists drift is emptied, not left stale.
// Other findings (unreviewed emergency unlocks: unreviewed.ts) go into the same reports.
// Whether the CRD is installed is asked of discovery (its group version) and, when missing,
// said once; it is asked again while missing (at most once per report with findings, else
// every REDISCOVER_MS), so a cluster without Kyverno logs one line, not one per namespace
// and scan, and the reports appear soon after the CRD is installed.

import type { SealTarget } from '../attestation/seal.ts';
import type { KubeClient } from '../cluster/kube-client.ts';
import { isBulwarkError, messageOf } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { DriftReason } from '../rules/ledger/audit.ts';

export interface Drift {
  target: SealTarget;
  reason: DriftReason;
  message: string;
}

/** Any result of the report: drift, or another finding (unreviewed.ts) under a policy of its own. */
export interface Finding {
  target: SealTarget;
  reason: string;
  message: string;
  /** Default bulwark-seals (drift). */
  policy?: string;
  category?: string;
  /** Another object the result is about (an UnlockRequest). */
  related?: { apiVersion: string; kind: string; namespace?: string; name: string; uid: string };
  /** Default fail; `error`: it could not be judged (running-pods.ts); `warn`: a policy that only warns. */
  result?: ResultKind;
  /** Details a report reader filters on (the image, its field). */
  properties?: Record<string, string>;
}

const SEVERITY: Record<ResultKind, string> = { fail: 'high', error: 'medium', warn: 'low' };
/** Worse is higher. */
export const RESULT_RANK: Record<ResultKind, number> = { fail: 3, error: 2, warn: 1 };
/** Results one report lists at most (about 600 bytes each); the summary counts them all. */
export const MAX_RESULTS = 1000;
/** On a report that lists fewer results than it counts: how many were left out. */
export const OMITTED_ANNOTATION = 'bulwark.dev/omitted-results';

/** A Warning Event on `target`, in its namespace (`default` for a cluster-scoped one); true once written. */
export async function postWarningEvent(
  client: Pick<KubeClient, 'call'>,
  warning: { target: SealTarget; reason: string; message: string; generateName: string },
): Promise<boolean> {
  const namespace = warning.target.namespace ?? 'default';
  const now = new Date().toISOString();
  const body = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: warning.generateName, namespace },
    involvedObject: { ...warning.target },
    reason: warning.reason,
    message: warning.message,
    type: 'Warning',
    source: { component: 'bulwark' },
    reportingComponent: 'bulwark.dev/audit',
    reportingInstance: 'bulwark',
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
  const r = await client.call('POST', `/api/v1/namespaces/${namespace}/events`, {
    body: JSON.stringify(body),
    ...TIMEOUT,
  });
  return r.status === 201;
}

export type ResultKind = 'fail' | 'error' | 'warn';

export const REPORT_NAME = 'bulwark-drift';
/** The policy of running Pods' image findings (running-pods.ts) in the same reports. */
export const IMAGES_POLICY = 'bulwark-images';
const REPORTS = '/apis/wgpolicyk8s.io/v1alpha2';
const TIMEOUT = { timeoutMs: 30_000 };
/** How often a missing PolicyReport CRD is looked for again. */
export const REDISCOVER_MS = 10 * 60_000;

export interface ReporterOptions {
  client: Pick<KubeClient, 'call'>;
  logger: Logger;
  now?: () => number;
}

export function createReporter({ client, logger, now = Date.now }: ReporterOptions) {
  const evented = new Set<string>();
  /** Whether wgpolicyk8s.io/v1alpha2 is served, and when that was last asked (absent: never). */
  let served: { yes: boolean; at: number } | undefined;

  /**
   * Whether PolicyReports can be written, from discovery. Once found, believed until a write
   * fails; while missing, asked again when there is something to report (one GET), else
   * every REDISCOVER_MS.
   */
  async function reportsServed(count: (n: number) => void, pending: boolean): Promise<boolean> {
    if (served && (served.yes || (!pending && now() - served.at < REDISCOVER_MS))) return served.yes;
    count(1);
    let yes: boolean;
    try {
      yes = (await client.call('GET', REPORTS, TIMEOUT)).status === 200;
    } catch (err) {
      // An unknown group is a plain-text 404, which the client refuses as not JSON.
      if (!isBulwarkError(err) || err.code !== 'KUBE_API_BAD_RESPONSE') throw err;
      yes = false;
    }
    if (yes && served?.yes === false) logger.info('audit: the PolicyReport CRD is installed now; writing reports');
    if (!yes && served === undefined)
      logger.warn(
        { retryMinutes: REDISCOVER_MS / 60_000 },
        'audit: no PolicyReport CRD (wgpolicyk8s.io/v1alpha2) installed: drift is reported as Events and metrics only',
      );
    served = { yes, at: now() };
    return yes;
  }
  /** Namespaces ('' for the cluster) whose report listed drift last time. */
  let reported = new Set<string>();

  async function event(d: Drift): Promise<void> {
    const key = `${d.target.uid}|${d.reason}|${d.message}`;
    if (evented.has(key)) return;
    const warning = { target: d.target, reason: 'BulwarkDrift', message: d.message, generateName: 'bulwark-drift-' };
    if (await postWarningEvent(client, warning)) evented.add(key);
    else logger.warn({ object: d.target.name }, 'audit: cannot record a drift Event');
  }

  function reportBody(namespace: string, drift: readonly Finding[]) {
    const seconds = Math.floor(Date.now() / 1000);
    // An object stays well below etcd's 1.5 MiB: past MAX_RESULTS the worst results are kept, all are counted.
    const listed = [...drift]
      .sort((a, b) => RESULT_RANK[b.result ?? 'fail'] - RESULT_RANK[a.result ?? 'fail'])
      .slice(0, MAX_RESULTS);
    const omitted = drift.length - listed.length;
    return {
      apiVersion: 'wgpolicyk8s.io/v1alpha2',
      kind: namespace ? 'PolicyReport' : 'ClusterPolicyReport',
      metadata: {
        name: REPORT_NAME,
        ...(namespace ? { namespace } : {}),
        labels: { 'app.kubernetes.io/managed-by': 'bulwark' },
        ...(omitted > 0 ? { annotations: { [OMITTED_ANNOTATION]: String(omitted) } } : {}),
      },
      results: listed.map((d) => ({
        source: 'bulwark',
        policy: d.policy ?? 'bulwark-seals',
        rule: d.reason,
        result: d.result ?? 'fail',
        severity: SEVERITY[d.result ?? 'fail'],
        category: d.category ?? 'Drift',
        message: d.message,
        resources: [{ ...d.target }, ...(d.related ? [d.related] : [])],
        ...(d.properties ? { properties: d.properties } : {}),
        timestamp: { seconds, nanos: 0 },
      })),
      summary: {
        pass: 0,
        fail: drift.filter((d) => (d.result ?? 'fail') === 'fail').length,
        warn: drift.filter((d) => d.result === 'warn').length,
        error: drift.filter((d) => d.result === 'error').length,
        skip: 0,
      },
    };
  }

  /** Writes one namespace's report; false when the PolicyReport CRD is not installed. */
  async function write(namespace: string, drift: readonly Finding[], count: (n: number) => void): Promise<boolean> {
    const collection = namespace
      ? `${REPORTS}/namespaces/${namespace}/policyreports`
      : `${REPORTS}/clusterpolicyreports`;
    const existing = await client.call('GET', `${collection}/${REPORT_NAME}`, TIMEOUT);
    count(1);
    const body = reportBody(namespace, drift) as Record<string, unknown> & { metadata: Record<string, unknown> };
    if (existing.status === 200) {
      body.metadata.resourceVersion = (
        existing.body as { metadata: { resourceVersion: string } }
      ).metadata.resourceVersion;
      await client.call('PUT', `${collection}/${REPORT_NAME}`, { body: JSON.stringify(body), ...TIMEOUT });
    } else if (existing.status === 404) {
      const r = await client.call('POST', collection, { body: JSON.stringify(body), ...TIMEOUT });
      if (r.status === 404) return false;
    }
    count(1);
    return true;
  }

  return {
    /** `others`: findings besides drift, reported alongside it (their Events are recorded where they are found). */
    async report(drift: readonly Drift[], count: (requests: number) => void, others: readonly Finding[] = []) {
      for (const d of drift) {
        await event(d).catch((err: unknown) => logger.warn({ err: messageOf(err) }, 'audit: Event failed'));
      }
      count(drift.length);
      const byNamespace = new Map<string, Finding[]>();
      for (const d of others)
        byNamespace.set(d.target.namespace ?? '', [...(byNamespace.get(d.target.namespace ?? '') ?? []), d]);
      for (const d of drift)
        byNamespace.set(d.target.namespace ?? '', [...(byNamespace.get(d.target.namespace ?? '') ?? []), d]);
      for (const ns of reported) if (!byNamespace.has(ns)) byNamespace.set(ns, []);
      if (byNamespace.size === 0) return;
      const pending = drift.length + others.length > 0;
      const servedNow = await reportsServed(count, pending).catch((err: unknown) => {
        logger.warn({ err: messageOf(err) }, 'audit: cannot tell whether PolicyReports are served');
        return false;
      });
      if (!servedNow) return;
      const listed = new Set<string>();
      for (const [ns, list] of byNamespace) {
        try {
          if (!(await write(ns, list, count))) {
            // Removed since it was found: look again at the next report.
            served = undefined;
            break;
          }
          if (list.length > 0) listed.add(ns);
        } catch (err) {
          if (isBulwarkError(err) && err.code === 'KUBE_API_BAD_RESPONSE') {
            served = undefined; // the CRD went away: a plain-text 404
            break;
          }
          logger.warn({ namespace: ns, err: messageOf(err) }, 'audit: cannot write a PolicyReport');
        }
      }
      reported = listed;
    },
  };
}
