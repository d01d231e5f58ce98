// The drift audit's answer to one watch event (watches.ts), between scans: judged at once
// unless it leaves the sealed content as it was (a status write, bookkeeping), which costs
// nothing. Otherwise one GET of the seal (and, for an object that left the selector, one GET
// of the object: deleted, or unlabelled), the same judgement as a scan (the auditor's
// settle), and the reports published again when the findings changed.

import type { KubeObject } from '../admission/types.ts';
import { contentHash, type SealSpec, type SealTarget } from '../attestation/seal.ts';
import type { ApiResource } from '../cluster/discovery.ts';
import type { Logger } from '../observability/logger.ts';
import type { Drift } from './report.ts';
import type { WatchEvent } from './watches.ts';

export interface StoredSeal {
  metadata: { name: string; resourceVersion?: string };
  spec: SealSpec;
}

/** What judging one object came to: nothing to do, a seal written or released, or drift. */
export type Settled = 'in-order' | 'absent' | 'written' | 'released' | Drift;

export const apiVersionOf = (r: ApiResource) => (r.group ? `${r.group}/${r.version}` : r.version);

export interface EventJudgeOptions<Context> {
  /** The policies and keys to judge with; undefined until both are in hand. */
  context: () => Context | undefined;
  /** Each sealed object's current hash, by uid (kept by the auditor). */
  sealedHashes: ReadonlyMap<string, string>;
  /** The drift found so far, by uid: updated here. */
  drifted: Map<string, Drift>;
  readSeal: (uid: string) => Promise<StoredSeal | undefined>;
  /** The object a seal names, when it still exists with that uid. */
  sameObject: (resources: readonly ApiResource[], uid: string, t: SealTarget) => Promise<KubeObject | undefined>;
  settle: (
    ctx: Context,
    uid: string,
    target: SealTarget,
    object: KubeObject | undefined,
    stored: StoredSeal | undefined,
  ) => Promise<Settled>;
  /** Writes the reports and metrics from `drifted`. */
  publish: () => Promise<void>;
  logger: Logger;
}

export function createEventJudge<Context>(options: EventJudgeOptions<Context>) {
  const { sealedHashes, drifted, logger } = options;
  return async function react(resource: ApiResource, type: WatchEvent, item: KubeObject): Promise<void> {
    const uid = item.metadata?.uid;
    const ctx = options.context();
    if (!uid || !item.metadata?.name || !ctx) return;
    const object = { ...item, apiVersion: apiVersionOf(resource), kind: resource.kind };
    if (type !== 'DELETED' && sealedHashes.get(uid) === contentHash(object) && !drifted.has(uid)) return;
    if (type === 'DELETED' && !sealedHashes.has(uid) && !drifted.has(uid)) return;
    const namespace = item.metadata.namespace;
    const target = {
      apiVersion: object.apiVersion,
      kind: resource.kind,
      ...(namespace ? { namespace } : {}),
      name: item.metadata.name,
      uid,
    };
    const stored = await options.readSeal(uid);
    // Gone from the selector: deleted, or unlabelled (then it is still there, with this uid).
    const current = type === 'DELETED' ? await options.sameObject([resource], uid, target) : object;
    const settled = await options.settle(ctx, uid, target, current, stored);
    const before = drifted.get(uid);
    if (typeof settled === 'object') drifted.set(uid, settled);
    else drifted.delete(uid);
    const after = drifted.get(uid);
    if (before?.message !== after?.message || settled === 'written' || settled === 'released') await options.publish();
    logger.info(
      { event: type, object: `${resource.kind} ${target.name}`, outcome: after?.reason ?? settled },
      'audit: watch event',
    );
  };
}
