// Whether Bulwark may list a kind: one metadata-only list of one item, 403 = forbidden,
// other failures unknown (and asked again), answers kept a minute.

import { describe, expect, it } from 'vitest';
import { createListableCheck } from '../../../src/cluster/listable.ts';
import { BaseError } from '../../../src/errors.ts';

const SECRETS = { group: '', version: 'v1', resource: 'secrets' };
const WIDGETS = { group: 'e2e.bulwark.dev', version: 'v1', resource: 'widgets' };

function fakeReader(status: (path: string) => number) {
  const calls: { path: string; accept?: string }[] = [];
  return {
    calls,
    async getJson(path: string, options: { timeoutMs: number; accept?: string }) {
      calls.push({ path, ...(options.accept ? { accept: options.accept } : {}) });
      const s = status(path);
      if (s !== 200) throw new BaseError('KUBE_API_ERROR', `HTTP ${s}`, { upstream: { status: s } });
      return { items: [] };
    },
  };
}

describe('the listable check', () => {
  it('asks for one item, metadata only, cluster-wide, and tells 403 from other failures', async () => {
    const reader = fakeReader((p) => (p.includes('secrets') ? 403 : p.includes('widgets') ? 503 : 200));
    const check = createListableCheck(reader);
    expect(await check(SECRETS, 1000)).toBe('forbidden');
    expect(await check(WIDGETS, 1000)).toBe('unknown');
    expect(await check({ group: 'apps', version: 'v1', resource: 'deployments' }, 1000)).toBe('listable');
    expect(reader.calls.map((c) => c.path)).toEqual([
      '/api/v1/secrets?limit=1',
      '/apis/e2e.bulwark.dev/v1/widgets?limit=1',
      '/apis/apps/v1/deployments?limit=1',
    ]);
    for (const c of reader.calls) expect(c.accept).toMatch(/^application\/json;as=PartialObjectMetadataList;/);
  });

  it('keeps clear answers a minute, and asks again after an unclear one', async () => {
    let now = 0;
    const reader = fakeReader((p) => (p.includes('secrets') ? 403 : 503));
    const check = createListableCheck(reader, { now: () => now });
    await check(SECRETS, 1000);
    await check(SECRETS, 1000);
    await check(WIDGETS, 1000);
    await check(WIDGETS, 1000);
    expect(reader.calls).toHaveLength(3);
    now = 61_000;
    await check(SECRETS, 1000);
    expect(reader.calls).toHaveLength(4);
  });
});
