// The drift audit loop: the leader among Bulwark's replicas (a Lease) periodically lists
// every locked object of every served kind (fresh discovery, so new CRDs are followed;
// label-selected on the server), judges each against its seal (rules/ledger/audit.ts),
// writes new seals and re-seals after approved unlocks, and reports drift (report.ts).
// Between scans it keeps only counts; objects are read, hashed and let go. Admission stays
// side-effect free: seals are written here, from what the loop observes, never on the
// request path (but for one: the namespace claim, see rules/immutability/namespace-marks.ts).
// After each scan it keeps the namespace marks (namespace-marks.ts).

import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../admission/types.ts';
import { signSeal, type SealSpec, type SealTarget } from '../attestation/seal.ts';
import { resourcePath, type ApiResource, type Discovery } from '../cluster/discovery.ts';
import type { KubeClient } from '../cluster/kube-client.ts';
import type { ClusterInformers } from '../cluster/policy-informers.ts';
import { messageOf } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { PolicyStore } from '../policy/store.ts';
import { auditObject, type AuditOutcome } from '../rules/ledger/audit.ts';
import { tryLead } from './lease.ts';
import { createReporter, type Drift } from './report.ts';
import { updateNamespaceMarks } from './namespace-marks.ts';
import { keyRingOf } from '../attestation/approval.ts';

export const SEALS_PATH = '/apis/bulwark.dev/v1alpha1/seals';
const TIMEOUT = { timeoutMs: 30_000 };

export interface AuditorOptions {
  client: KubeClient;
  discovery: Discovery;
  store: PolicyStore;
  informers: Pick<ClusterInformers, 'unlocksFor' | 'namespaceLabels'>;
  logger: Logger;
  metrics: Metrics;
  namespace: string;
  intervalMs: number;
  /** Counts each apiserver request of a scan (for the measured figures). */
  onRequest?: () => void;
}

export interface ScanResult {
  drift: Drift[];
  sealed: number;
  written: number;
  requests: number;
  seconds: number;
}

interface Located {
  target: SealTarget;
  object: KubeObject;
  resource: ApiResource;
}

const apiVersionOf = (r: ApiResource) => (r.group ? `${r.group}/${r.version}` : r.version);

export function createAuditor(options: AuditorOptions) {
  const { client, logger } = options;
  const identity = `${process.env.HOSTNAME ?? 'bulwark'}-${randomBytes(4).toString('hex')}`;
  const reporter = createReporter({ client, logger });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let requests = 0;
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

  let listingComplete = true;
  async function lockedObjects(resources: readonly ApiResource[], selector: string): Promise<Map<string, Located>> {
    const found = new Map<string, Located>();
    listingComplete = true;
    for (const r of resources) {
      let list: { items?: KubeObject[] } | undefined;
      try {
        list = (await get(`${resourcePath(r)}?labelSelector=${encodeURIComponent(selector)}`)) as typeof list;
      } catch (err) {
        logger.warn({ resource: `${r.resource}.${r.group}`, err: messageOf(err) }, 'audit: cannot list');
        listingComplete = false;
        continue;
      }
      for (const item of list?.items ?? []) {
        const uid = item.metadata?.uid;
        if (!uid || !item.metadata?.name) continue;
        const object = { ...item, apiVersion: apiVersionOf(r), kind: r.kind };
        const namespace = item.metadata.namespace;
        const target = {
          apiVersion: apiVersionOf(r),
          kind: r.kind,
          ...(namespace ? { namespace } : {}),
          name: item.metadata.name,
          uid,
        };
        found.set(uid, { target, object, resource: r });
      }
    }
    return found;
  }

  async function writeSeal(
    name: string,
    seal: SealSpec,
    existing: { metadata?: { resourceVersion?: string } } | undefined,
  ) {
    const body = {
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'Seal',
      metadata: {
        name,
        ...(existing?.metadata?.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}),
      },
      spec: seal,
    };
    const r = existing ? await call('PUT', `${SEALS_PATH}/${name}`, body) : await call('POST', SEALS_PATH, body);
    if (r.status >= 300) logger.warn({ seal: name, status: r.status }, 'audit: cannot write a seal');
  }

  async function scan(): Promise<ScanResult | undefined> {
    const started = process.hrtime.bigint();
    requests = 0;
    const snapshot = options.store.snapshot();
    const keys = keyRingOf(snapshot.attestation);
    if (!keys || !snapshot.synced) return undefined;
    const selector = `${snapshot.lockLabel.key}=${snapshot.lockLabel.value}`;
    const resources = (await options.discovery.current()).filter(
      (r) => r.verbs.includes('list') && !(r.group === 'bulwark.dev' && r.resource === 'seals'),
    );
    requests += 2; // aggregated discovery
    const objects = await lockedObjects(resources, selector);
    const sealList = (await get(SEALS_PATH)) as {
      items?: { metadata: { name: string; resourceVersion?: string }; spec: SealSpec }[];
    };
    const seals = new Map((sealList?.items ?? []).map((s) => [s.metadata.name, s]));
    const drift: Drift[] = [];
    let sealed = 0;
    let written = 0;
    const now = Date.now();
    const judge = async (uid: string, target: SealTarget, object: KubeObject | undefined) => {
      const stored = seals.get(uid);
      const outcome: AuditOutcome = auditObject({
        target,
        ...(object ? { object } : {}),
        ...(stored ? { seal: stored.spec } : {}),
        snapshot,
        keys,
        unlocks: options.informers.unlocksFor(target.namespace, target.name),
        ...(target.namespace ? { namespaceLabels: options.informers.namespaceLabels(target.namespace) ?? {} } : {}),
        now,
      });
      if (outcome.kind === 'in-order') sealed += object ? 1 : 0;
      else if (outcome.kind === 'seal') {
        await writeSeal(uid, signSeal(keys, outcome.seal), stored);
        written += 1;
        sealed += 1;
      } else if (outcome.kind === 'release') {
        await call('DELETE', `${SEALS_PATH}/${uid}`);
      } else drift.push({ target, reason: outcome.reason, message: outcome.message });
    };
    for (const [uid, { target, object }] of objects) await judge(uid, target, object);
    // Seals whose object was not listed locked: it was unlabelled or deleted since.
    for (const [uid, stored] of seals) {
      if (objects.has(uid)) continue;
      const t = stored.spec.target;
      const resource = resources.find((r) => apiVersionOf(r) === t?.apiVersion && r.kind === t?.kind);
      const current = resource
        ? ((await get(resourcePath(resource, t.namespace, t.name))) as KubeObject | undefined)
        : undefined;
      const sameObject =
        current?.metadata?.uid === uid ? { ...current, apiVersion: t.apiVersion, kind: t.kind } : undefined;
      await judge(uid, t ?? { apiVersion: '', kind: '', name: uid, uid }, sameObject);
    }
    await reporter.report(drift, (n) => {
      requests += n;
    });
    const lockedNamespaces = new Set<string>();
    for (const { target } of objects.values()) if (target.namespace) lockedNamespaces.add(target.namespace);
    const marks = await updateNamespaceMarks({ client, logger, snapshot, lockedNamespaces, listingComplete, now });
    requests += 1 + marks.marked + marks.unmarked + marks.conflicts;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const counts: Record<string, number> = {};
    for (const d of drift) counts[d.reason] = (counts[d.reason] ?? 0) + 1;
    options.metrics.observeAudit({ drift: counts, sealed, seconds });
    logger.info({ locked: objects.size, sealed, written, drift: drift.length, marks, requests, seconds }, 'audit scan');
    return { drift, sealed, written, requests, seconds };
  }

  async function tick(): Promise<void> {
    try {
      const leading = await tryLead({ client, namespace: options.namespace, name: 'bulwark-audit', identity, logger });
      if (leading) await scan();
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
      await running;
    },
  };
}
