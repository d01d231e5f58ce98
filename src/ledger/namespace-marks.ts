// The loop's half of the namespace marks (rules/immutability/namespace-marks.ts): after
// each audit scan, which has just listed every locked object, the leader sets or removes
// each namespace's marks. Each patch carries the resourceVersion the decision was made
// from, so a lock claimed in between (which writes the namespace) makes it fail (409),
// and the namespace stays as it is until the next scan.

import type { KubeClient } from '../cluster/kube-client.ts';
import type { Logger } from '../observability/logger.ts';
import type { PolicySnapshot } from '../policy/compiled.ts';
import { IMAGES_MARK, LOCKS_MARK, MARK_NONE, desiredMarks } from '../rules/immutability/namespace-marks.ts';

interface NamespaceItem {
  metadata?: {
    name?: string;
    resourceVersion?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}

export interface MarkOutcome {
  marked: number;
  unmarked: number;
  conflicts: number;
}

export async function updateNamespaceMarks(options: {
  client: KubeClient;
  logger: Logger;
  snapshot: PolicySnapshot;
  /** Namespaces the scan found locked objects in. */
  lockedNamespaces: ReadonlySet<string>;
  /** False when some resource could not be listed: then no mark is added. */
  listingComplete: boolean;
  now: number;
}): Promise<MarkOutcome> {
  const { client, logger } = options;
  const outcome: MarkOutcome = { marked: 0, unmarked: 0, conflicts: 0 };
  // Read after the locked objects were listed: a lock claimed since then is stamped here.
  const list = (await client.getJson('/api/v1/namespaces', { timeoutMs: 30_000 })) as { items?: NamespaceItem[] };
  for (const item of list?.items ?? []) {
    const name = item.metadata?.name;
    if (!name) continue;
    const labels = item.metadata?.labels ?? {};
    const wanted = desiredMarks(
      { name, labels, annotations: item.metadata?.annotations ?? {}, terminating: !!item.metadata?.deletionTimestamp },
      { ...options, holdsLocks: options.lockedNamespaces.has(name) },
    );
    if (!wanted) continue;
    const change: Record<string, string | null> = {};
    for (const [key, on] of [
      [LOCKS_MARK, wanted.locks],
      [IMAGES_MARK, wanted.images],
    ] as const) {
      const has = labels[key] === MARK_NONE;
      if (on && !has) change[key] = MARK_NONE;
      if (!on && key in labels) change[key] = null;
    }
    if (Object.keys(change).length === 0) continue;
    const patch = { metadata: { resourceVersion: item.metadata?.resourceVersion, labels: change } };
    const r = await client.call('PATCH', `/api/v1/namespaces/${encodeURIComponent(name)}`, {
      body: JSON.stringify(patch),
      contentType: 'application/merge-patch+json',
      timeoutMs: 30_000,
    });
    if (r.status === 409) outcome.conflicts += 1;
    else if (r.status >= 300) logger.warn({ namespace: name, status: r.status }, 'cannot update namespace marks');
    else {
      const added = Object.values(change).some((v) => v !== null);
      if (added) outcome.marked += 1;
      if (Object.values(change).some((v) => v === null)) outcome.unmarked += 1;
    }
  }
  return outcome;
}
