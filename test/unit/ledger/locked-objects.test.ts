// The scan's paged listing (locked-objects.ts) and its seal index (seal-index.ts), against a
// scripted API that pages as the apiserver does (limit/continue): every object is handed on
// once, page by page; the watch starts at the first page's resourceVersion; an expired
// continue token (410) lists the resource again without judging twice what did not change,
// judges again what did, and reports what the fresh list no longer holds; a failed
// judgement fails the scan instead of passing for an unlistable kind. (The real apiserver:
// test/e2e/audit-paging.test.ts, test/e2e/audit-relist.test.ts.)

import { describe, expect, it } from 'vitest';
import { BaseError } from '../../../src/errors.ts';
import { listLockedObjects, type Located } from '../../../src/ledger/locked-objects.ts';
import { readSeals } from '../../../src/ledger/seal-index.ts';
import type { WatchStart } from '../../../src/ledger/watches.ts';
import { createLogger } from '../../../src/observability/logger.ts';

const logger = createLogger('silent');
const configMaps = { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true, verbs: [] };
const SELECTOR = 'bulwark.dev/immutable=true';

const cm = (name: string, resourceVersion: string) => ({
  metadata: { name, namespace: 'demo', uid: `uid-${name}`, resourceVersion, managedFields: [{ manager: 'x' }] },
  data: { name },
});

type Item = ReturnType<typeof cm>;
const gone = () => new BaseError('KUBE_API_ERROR', 'continue too old', { upstream: { status: 410 } });

/**
 * A paged list per attempt: `lists[n]` is what the n-th fresh list sees; `expireAfter[n]`
 * pages of it are served before its continue token expires (410).
 */
function pagedApi(lists: Item[][], expireAfter: (number | undefined)[] = []) {
  const paths: string[] = [];
  let attempt = -1;
  const get = async (path: string) => {
    paths.push(path);
    const query = new URL(path, 'https://api').searchParams;
    const limit = Number(query.get('limit'));
    const from = Number(query.get('continue') ?? 0);
    if (from === 0) attempt += 1;
    const expiry = expireAfter[attempt];
    if (expiry !== undefined && from / limit >= expiry) throw gone();
    const items = lists[attempt]!.slice(from, from + limit);
    const more = from + limit < lists[attempt]!.length;
    return {
      // A later page names a later resourceVersion: the watch must start at the first page's.
      metadata: { resourceVersion: `${attempt + 1}0${from}`, ...(more ? { continue: String(from + limit) } : {}) },
      items,
    };
  };
  return { get, paths };
}

async function list(api: ReturnType<typeof pagedApi>, pageSize: number) {
  const handed: { name: string; again: boolean }[] = [];
  const vanished: string[] = [];
  const watchFrom: WatchStart[] = [];
  const result = await listLockedObjects(
    { get: api.get, logger, pageSize },
    [configMaps],
    SELECTOR,
    {
      onObject: async (found: Located, again) => {
        handed.push({ name: found.target.name, again });
      },
      onVanished: async (target) => {
        vanished.push(target.name);
      },
    },
    watchFrom,
  );
  return { ...result, handed, vanished, watchFrom };
}

describe('the paged listing of locked objects', () => {
  it('hands on every object once, page by page, and starts the watch at the first page`s resourceVersion', async () => {
    const objects = Array.from({ length: 7 }, (_, i) => cm(`cm-${i}`, '5'));
    const api = pagedApi([objects]);
    const r = await list(api, 3);
    expect(api.paths).toEqual([
      '/api/v1/configmaps?labelSelector=bulwark.dev%2Fimmutable%3Dtrue&limit=3',
      '/api/v1/configmaps?labelSelector=bulwark.dev%2Fimmutable%3Dtrue&limit=3&continue=3',
      '/api/v1/configmaps?labelSelector=bulwark.dev%2Fimmutable%3Dtrue&limit=3&continue=6',
    ]);
    expect(r.handed.map((h) => h.name)).toEqual(objects.map((o) => o.metadata.name));
    expect(r.complete).toBe(true);
    expect(r.watchFrom).toEqual([{ resource: configMaps, resourceVersion: '100' }]);
  });

  it('an expired continue lists again: unchanged not judged twice, changed judged again, gone reported', async () => {
    const first = [cm('a', '1'), cm('b', '1'), cm('d', '1'), cm('e', '1')];
    // Between the two lists: b changed, d was deleted (or unlabelled), c was locked.
    const fresh = [cm('a', '1'), cm('b', '2'), cm('c', '1'), cm('e', '1')];
    const r = await list(pagedApi([first, fresh], [1]), 3);
    expect(r.handed).toEqual([
      { name: 'a', again: false },
      { name: 'b', again: false },
      { name: 'd', again: false },
      { name: 'b', again: true },
      { name: 'c', again: false },
      { name: 'e', again: false },
    ]);
    expect(r.vanished).toEqual(['d']);
    expect(r.complete).toBe(true);
    // The fresh list's snapshot: the watch misses nothing that happened after it.
    expect(r.watchFrom).toEqual([{ resource: configMaps, resourceVersion: '200' }]);
  });

  it('a list that keeps expiring is incomplete (no namespace mark is added from it) and starts no watch', async () => {
    const objects = [cm('a', '1'), cm('b', '1'), cm('c', '1')];
    const r = await list(pagedApi([objects, objects, objects, objects], [1, 1, 1, 1]), 2);
    expect(r.complete).toBe(false);
    expect(r.watchFrom).toEqual([]);
    expect(r.handed.map((h) => h.name)).toEqual(['a', 'b']);
  });

  it('a failed judgement fails the listing instead of passing for a kind it may not list', async () => {
    const api = pagedApi([[cm('a', '1')]]);
    await expect(
      listLockedObjects(
        { get: api.get, logger },
        [configMaps],
        SELECTOR,
        {
          onObject: async () => {
            throw new BaseError('KUBE_API_UNREACHABLE', 'seal write failed');
          },
          onVanished: async () => {},
        },
        [],
      ),
    ).rejects.toThrow('seal write failed');
  });
});

describe('the seal index', () => {
  const seal = (uid: string) => ({
    metadata: { name: uid, resourceVersion: '9', managedFields: [{ manager: 'bulwark' }], uid: 'seal-uid' },
    spec: { target: { apiVersion: 'v1', kind: 'ConfigMap', name: uid, uid } },
  });

  it('reads every page, keeps what the judgement reads, and hands each seal out once', async () => {
    const paths: string[] = [];
    const all = ['u1', 'u2', 'u3'].map(seal);
    let expired = false;
    const get = async (path: string) => {
      paths.push(path);
      const from = Number(new URL(path, 'https://api').searchParams.get('continue') ?? 0);
      // The first list's continue token expires once: the seals are read again from the start.
      if (from > 0 && !expired) {
        expired = true;
        throw gone();
      }
      return {
        metadata: from + 2 < all.length ? { continue: String(from + 2) } : {},
        items: all.slice(from, from + 2),
      };
    };
    const index = await readSeals({ get, logger, pageSize: 2 });
    expect(paths).toHaveLength(4);
    expect(index.take('u2')).toEqual({ metadata: { name: 'u2', resourceVersion: '9' }, spec: seal('u2').spec });
    expect(index.take('u2')).toBeUndefined();
    expect([...index.rest()].map(([uid]) => uid)).toEqual(['u1', 'u3']);
    expect([...index.rest()]).toEqual([]);
  });
});
