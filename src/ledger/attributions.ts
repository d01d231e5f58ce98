// The audit loop's side of the records the admitting replicas write in Bulwark's namespace:
// lock attributions (attestation/attribution.ts, for first seals) and unlocked changes
// (attestation/unlocked-change.ts, for re-seals after an unlock). Read when a seal needs
// them (one list per scan or watch event: they are few, each lives minutes), delete those a
// seal consumed, and sweep those whose window has passed (their lock or change never came,
// or was sealed by an older Bulwark).

import { attributionsPath, type LockAttributionSpec } from '../attestation/attribution.ts';
import { unlockedChangesPath, type UnlockedChangeSpec } from '../attestation/unlocked-change.ts';
import { messageOf } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { ATTRIBUTION_WINDOW_MS } from '../rules/ledger/locked-by.ts';

interface Stored<Spec> {
  metadata?: { name?: string; creationTimestamp?: string };
  spec?: Spec;
}

export interface RecordStoreOptions {
  namespace: string;
  get: (path: string) => Promise<unknown>;
  call: (method: string, path: string) => Promise<{ status: number }>;
  logger: Logger;
}

/** How long an unlocked change waits for its re-seal: longer than an unlock is likely to last. */
export const UNLOCKED_CHANGE_KEEP_MS = 24 * 3600_000;

function createRecordStore<Spec>(options: RecordStoreOptions & { path: string; keepMs: number; what: string }) {
  const { path } = options;
  let stored: Stored<Spec>[] = [];
  const consume = async (name: string): Promise<void> => {
    stored = stored.filter((s) => s.metadata?.name !== name);
    const r = await options.call('DELETE', `${path}/${encodeURIComponent(name)}`);
    if (r.status >= 300 && r.status !== 404)
      options.logger.warn({ record: name, status: r.status }, `audit: cannot delete a used ${options.what}`);
  };
  return {
    /** Every record now (a failed read is reported, never taken for "none"). */
    async lookup(): Promise<{ records: Spec[] } | { unavailable: string }> {
      try {
        const list = (await options.get(path)) as { items?: Stored<Spec>[] } | undefined;
        stored = list?.items ?? [];
        return { records: stored.flatMap((s) => (s.spec ? [s.spec] : [])) };
      } catch (err) {
        return { unavailable: messageOf(err) };
      }
    },
    /** Deletes the record a seal was made from (named after its request uid). */
    consume,
    /** Deletes the records of the last lookup that are older than any seal may use; returns how many. */
    async sweep(now: number): Promise<number> {
      const expired = stored.filter((s) => {
        const made = Date.parse(s.metadata?.creationTimestamp ?? '');
        return s.metadata?.name && Number.isFinite(made) && made < now - options.keepMs;
      });
      for (const s of expired) await consume(s.metadata!.name!);
      return expired.length;
    },
  };
}

export function createAttributionStore(options: RecordStoreOptions) {
  return createRecordStore<LockAttributionSpec>({
    ...options,
    path: attributionsPath(options.namespace),
    keepMs: 2 * ATTRIBUTION_WINDOW_MS,
    what: 'lock attribution',
  });
}

/**
 * Swept by age alone, so a record never outlives an older one: a record that shows a state
 * was left (a replay's evidence) is kept at least as long as the record it defeats.
 */
export function createUnlockedChangeStore(options: RecordStoreOptions) {
  return createRecordStore<UnlockedChangeSpec>({
    ...options,
    path: unlockedChangesPath(options.namespace),
    keepMs: UNLOCKED_CHANGE_KEEP_MS,
    what: 'unlocked-change record',
  });
}
