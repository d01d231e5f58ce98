// The audit's action on one object (settle.ts), its watch-event judge (events.ts), its listing
// (locked-objects.ts) and its attribution store (attributions.ts), against a scripted API and
// a real captured ConfigMap: a new lock is sealed with its author and the record consumed; a
// sealed one in order writes nothing; a change outside the rules is drift; a change under an
// unlock is re-sealed only along the records of what Bulwark admitted; an event that
// leaves the content alone costs no request. (The real apiserver: the e2e drift tests.)

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/admission/types.ts';
import { attributionOf, signAttribution } from '../../../src/attestation/attribution.ts';
import { contentHash, signSeal, type SealSpec } from '../../../src/attestation/seal.ts';
import { BaseError } from '../../../src/errors.ts';
import {
  createAttributionStore,
  createUnlockedChangeStore,
  UNLOCKED_CHANGE_KEEP_MS,
} from '../../../src/ledger/attributions.ts';
import { createEventJudge, type StoredSeal } from '../../../src/ledger/events.ts';
import { listLockedObjects } from '../../../src/ledger/locked-objects.ts';
import type { Drift } from '../../../src/ledger/report.ts';
import { createSettler, type Context } from '../../../src/ledger/settle.ts';
import type { WatchStart } from '../../../src/ledger/watches.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { ATTRIBUTION_WINDOW_MS } from '../../../src/rules/ledger/locked-by.ts';
import { TEST_KEYS } from '../../helpers/attestation.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { compiler, policyStore } from '../../helpers/snapshots.ts';
import { CREATED_MS, twoApproversSnapshot, unlockRequest } from '../../helpers/unlock.ts';
import { signUnlockedChange, type UnlockedChangeSpec } from '../../../src/attestation/unlocked-change.ts';

const logger = createLogger('silent');
const request = loadReview('configmap-create-labelled').request;
const object = request.object as KubeObject;
const uid = object.metadata!.uid as string;
const target = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'demo', name: 'app-config', uid };
const AT = Date.parse('2026-11-25T12:45:21Z');
const record = signAttribution(
  TEST_KEYS,
  attributionOf(request, { key: 'bulwark.dev/immutable', value: 'true' }, new Date(AT).toISOString())!,
);
const configMaps = {
  group: '',
  version: 'v1',
  resource: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
  verbs: ['list'],
};

function scripted() {
  const calls: { method: string; path: string; body?: unknown }[] = [];
  const call = async (method: string, path: string, body?: unknown) => {
    calls.push({ method, path, body });
    return { status: method === 'POST' ? 201 : 200 };
  };
  return { calls, call };
}

const context = (records = [record]): Context => ({
  snapshot: policyStore({ sources: [] }).snapshot(),
  keys: TEST_KEYS,
  now: AT + 2_000,
  attributions: async () => ({ records }),
  unlockedChanges: async () => ({ records: [] }),
});

function settler(calls = scripted()) {
  const sealedHashes = new Map<string, string>();
  const consumed: string[] = [];
  const settle = createSettler({
    call: calls.call,
    informers: { unlocksFor: () => [], namespaceLabels: () => ({}) },
    sealedHashes,
    consume: async (id) => {
      consumed.push(id);
    },
    consumeChanges: async () => {},
    logger,
  });
  return { settle, sealedHashes, consumed, calls: calls.calls };
}

const stored = (spec: SealSpec): StoredSeal => ({ metadata: { name: uid, resourceVersion: '7' }, spec });
const sealOf = (o: KubeObject) =>
  signSeal(TEST_KEYS, {
    target,
    current: { hash: contentHash(o), at: '2026-11-25T12:46:00Z', reason: 'locked' },
    history: [],
  });

describe('settling one object', () => {
  it('seals a new lock with its author and consumes the record', async () => {
    const s = settler();
    expect(await s.settle(context(), uid, target, object, undefined)).toBe('written');
    expect(s.calls).toHaveLength(1);
    expect(s.calls[0]).toMatchObject({ method: 'POST', path: '/apis/bulwark.dev/v1alpha1/seals' });
    expect((s.calls[0]!.body as { spec: SealSpec }).spec.lockedBy).toMatchObject({ user: 'alice' });
    expect(s.consumed).toEqual([request.uid]);
    expect(s.sealedHashes.get(uid)).toBe(contentHash(object));
  });

  it('leaves a sealed object in order alone, and reports a change outside the rules', async () => {
    const s = settler();
    expect(await s.settle(context(), uid, target, object, stored(sealOf(object)))).toBe('in-order');
    expect(s.calls).toEqual([]);
    const changed = { ...object, data: { color: 'red' } } as KubeObject;
    expect(await s.settle(context(), uid, target, changed, stored(sealOf(object)))).toMatchObject({
      reason: 'changed',
    });
    expect(s.sealedHashes.has(uid)).toBe(false);
    expect(await s.settle(context(), uid, target, undefined, undefined)).toBe('absent');
  });
});

describe('settling a change under an unlock', () => {
  const GROUPS = ['dev', 'approvers', 'system:authenticated'];
  const unlock = compiler.unlock(
    unlockRequest('ur-1', {}, [
      { user: 'bob', groups: GROUPS },
      { user: 'carol', groups: GROUPS },
    ]),
  );
  const changed = { ...object, data: { color: 'red' } } as KubeObject;
  const admitted = signUnlockedChange(TEST_KEYS, {
    requestUid: 'req-change',
    user: 'alice',
    groups: GROUPS,
    at: new Date(CREATED_MS + 60_000).toISOString(),
    target: { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'demo', name: 'app-config', uid },
    unlock: { kind: 'UnlockRequest', name: 'ur-1' },
    from: contentHash(object),
    to: contentHash(changed),
    fromResourceVersion: String(object.metadata?.resourceVersion),
  });

  it('reads the records only for a change under an unlock, re-seals along them and consumes them', async () => {
    if (!unlock.ok) throw new Error(JSON.stringify(unlock.problems));
    const calls = scripted();
    const consumed: string[] = [];
    const settle = createSettler({
      call: calls.call,
      informers: { unlocksFor: () => [unlock.unlock], namespaceLabels: () => ({}) },
      sealedHashes: new Map(),
      consume: async () => {},
      consumeChanges: async (id) => {
        consumed.push(id);
      },
      logger,
    });
    let reads = 0;
    const ctx = (records: UnlockedChangeSpec[]): Context => ({
      snapshot: twoApproversSnapshot(),
      keys: TEST_KEYS,
      now: CREATED_MS + 120_000,
      attributions: async () => ({ records: [] }),
      unlockedChanges: async () => {
        reads += 1;
        return { records };
      },
    });
    expect(await settle(ctx([admitted]), uid, target, object, stored(sealOf(object)))).toBe('in-order');
    expect(reads).toBe(0);
    expect(await settle(ctx([]), uid, target, changed, stored(sealOf(object)))).toMatchObject({
      reason: 'changed-outside-unlock',
    });
    expect(await settle(ctx([admitted]), uid, target, changed, stored(sealOf(object)))).toBe('written');
    expect(reads).toBe(2);
    expect((calls.calls.at(-1)!.body as { spec: SealSpec }).spec.current).toMatchObject({
      reason: 'unlocked',
      records: ['req-change'],
      changedBy: { user: 'alice' },
    });
    expect(consumed).toEqual(['req-change']);
  });
});

describe('a watch event', () => {
  function judge(seal: SealSpec | undefined) {
    const s = settler();
    const drifted = new Map<string, Drift>();
    let published = 0;
    let reads = 0;
    const react = createEventJudge({
      context: () => context(),
      sealedHashes: s.sealedHashes,
      drifted,
      readSeal: async () => {
        reads += 1;
        return seal ? stored(seal) : undefined;
      },
      sameObject: async () => undefined,
      settle: s.settle,
      publish: async () => {
        published += 1;
      },
      logger,
    });
    return { react, drifted, s, counts: () => ({ published, reads }) };
  }

  it('that leaves the sealed content as it was costs nothing', async () => {
    const j = judge(sealOf(object));
    j.s.sealedHashes.set(uid, contentHash(object));
    await j.react(configMaps, 'MODIFIED', { ...object, status: { x: 1 } } as KubeObject);
    expect(j.counts()).toEqual({ published: 0, reads: 0 });
  });

  it('that changes it is drift, published; a deletion of a sealed object too', async () => {
    const j = judge(sealOf(object));
    j.s.sealedHashes.set(uid, contentHash(object));
    await j.react(configMaps, 'MODIFIED', { ...object, data: { color: 'red' } } as KubeObject);
    expect(j.drifted.get(uid)).toMatchObject({ reason: 'changed' });
    expect(j.counts()).toEqual({ published: 1, reads: 1 });
    await j.react(configMaps, 'DELETED', object);
    expect(j.drifted.get(uid)).toMatchObject({ reason: 'deleted' });
    expect(j.counts().published).toBe(2);
  });

  it('of a new lock seals it', async () => {
    const j = judge(undefined);
    await j.react(configMaps, 'ADDED', object);
    expect(j.s.calls.map((c) => c.method)).toEqual(['POST']);
    expect(j.counts().published).toBe(1);
  });
});

describe('the listing', () => {
  it('lists each resource label-selected, skips a forbidden one quietly, and marks a failure incomplete', async () => {
    const paths: string[] = [];
    const listed: unknown[] = [];
    const watchFrom: WatchStart[] = [];
    const secrets = { ...configMaps, resource: 'secrets', kind: 'Secret' };
    const widgets = { ...configMaps, group: 'example.com', resource: 'widgets', kind: 'Widget' };
    const result = await listLockedObjects(
      {
        logger,
        get: async (path) => {
          paths.push(path);
          if (path.includes('/secrets'))
            throw new BaseError('KUBE_API_ERROR', 'forbidden', { upstream: { status: 403 } });
          if (path.includes('/widgets')) throw new Error('connection reset');
          return {
            metadata: { resourceVersion: '42' },
            items: [{ ...object, apiVersion: undefined }, { metadata: {} }],
          };
        },
      },
      [configMaps, secrets, widgets],
      'bulwark.dev/immutable=true',
      {
        onObject: async (found) => {
          listed.push(found.target);
        },
        onVanished: async () => {},
      },
      watchFrom,
    );
    expect(paths[0]).toBe('/api/v1/configmaps?labelSelector=bulwark.dev%2Fimmutable%3Dtrue&limit=500');
    expect(listed).toEqual([target]);
    expect(result.complete).toBe(false);
    expect(watchFrom).toEqual([{ resource: configMaps, resourceVersion: '42' }]);
  });
});

describe('the attribution store', () => {
  it('reads the records, consumes one, sweeps the old, and reports a failed read', async () => {
    const calls: string[] = [];
    const old = new Date(AT - 3 * ATTRIBUTION_WINDOW_MS).toISOString();
    const store = createAttributionStore({
      namespace: 'bulwark-system',
      logger,
      get: async () => ({
        items: [
          { metadata: { name: 'fresh', creationTimestamp: new Date(AT).toISOString() }, spec: record },
          { metadata: { name: 'old', creationTimestamp: old }, spec: record },
        ],
      }),
      call: async (method, path) => {
        calls.push(`${method} ${path}`);
        return { status: path.endsWith('/gone') ? 404 : 200 };
      },
    });
    expect(await store.lookup()).toEqual({ records: [record, record] });
    expect(await store.sweep(AT)).toBe(1);
    expect(calls).toEqual(['DELETE /apis/bulwark.dev/v1alpha1/namespaces/bulwark-system/lockattributions/old']);
    await store.consume('gone');
    const failing = createAttributionStore({
      namespace: 'bulwark-system',
      logger,
      get: async () => Promise.reject(new Error('HTTP 403')),
      call: async () => ({ status: 200 }),
    });
    expect(await failing.lookup()).toEqual({ unavailable: 'HTTP 403' });
  });

  it('keeps unlocked-change records a day, by age alone', async () => {
    const calls: string[] = [];
    const made = (ms: number) => ({
      metadata: { name: `at-${ms}`, creationTimestamp: new Date(AT - ms).toISOString() },
    });
    const store = createUnlockedChangeStore({
      namespace: 'bulwark-system',
      logger,
      get: async () => ({ items: [made(3 * ATTRIBUTION_WINDOW_MS), made(UNLOCKED_CHANGE_KEEP_MS + 1)] }),
      call: async (method, path) => {
        calls.push(`${method} ${path}`);
        return { status: 200 };
      },
    });
    await store.lookup();
    expect(await store.sweep(AT)).toBe(1);
    expect(calls).toEqual([
      `DELETE /apis/bulwark.dev/v1alpha1/namespaces/bulwark-system/unlockedchanges/at-${UNLOCKED_CHANGE_KEEP_MS + 1}`,
    ]);
  });
});
