// The audit loop's side of lock attributions (attestation/attribution.ts): read the records
// in Bulwark's namespace when a first seal needs them (one list per scan or watch event:
// they are few, each lives minutes), delete the one a seal consumed, and sweep those whose
// window has passed (their lock never came, or was sealed by an older Bulwark).

import type { LockAttributionSpec } from '../attestation/attribution.ts';
import { attributionsPath } from '../attestation/attribution.ts';
import { messageOf } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { ATTRIBUTION_WINDOW_MS, type AttributionLookup } from '../rules/ledger/locked-by.ts';

interface StoredAttribution {
  metadata?: { name?: string; creationTimestamp?: string };
  spec?: LockAttributionSpec;
}

export interface AttributionStoreOptions {
  namespace: string;
  get: (path: string) => Promise<unknown>;
  call: (method: string, path: string) => Promise<{ status: number }>;
  logger: Logger;
}

export function createAttributionStore(options: AttributionStoreOptions) {
  const path = attributionsPath(options.namespace);
  let stored: StoredAttribution[] = [];
  return {
    /** Every record now (a failed read is reported, never taken for "none"). */
    async lookup(): Promise<AttributionLookup> {
      try {
        const list = (await options.get(path)) as { items?: StoredAttribution[] } | undefined;
        stored = list?.items ?? [];
        return { records: stored.flatMap((s) => (s.spec ? [s.spec] : [])) };
      } catch (err) {
        return { unavailable: messageOf(err) };
      }
    },
    /** Deletes the record a seal was made from (named after its request uid). */
    async consume(requestUid: string): Promise<void> {
      stored = stored.filter((s) => s.metadata?.name !== requestUid);
      const r = await options.call('DELETE', `${path}/${encodeURIComponent(requestUid)}`);
      if (r.status >= 300 && r.status !== 404)
        options.logger.warn({ record: requestUid, status: r.status }, 'audit: cannot delete a used lock attribution');
    },
    /** Deletes the records of the last lookup that are older than any seal may use; returns how many. */
    async sweep(now: number): Promise<number> {
      const expired = stored.filter((s) => {
        const made = Date.parse(s.metadata?.creationTimestamp ?? '');
        return s.metadata?.name && Number.isFinite(made) && made < now - 2 * ATTRIBUTION_WINDOW_MS;
      });
      for (const s of expired) await this.consume(s.metadata!.name!);
      return expired.length;
    },
  };
}
