// The resilient informer restarts a list-watch cache (which stops for good on an
// error) with exponential backoff, and reports sync after each successful (re)start:
// after a list, or after a restart that resumes the watch without one.

import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { resilientInformer } from '../../../src/cluster/informer.ts';

type Callback = (arg?: unknown) => void;

/**
 * Stands in for the list-watch cache (list-watch.ts): start() lists via the given function, like the
 * real one; with `resume`, a restart after a successful list only re-watches (as the real
 * one does while it has a resourceVersion).
 */
function fakeInformerFactory(options: { resume?: boolean } = {}) {
  const callbacks: Record<string, Callback[]> = {};
  let starts = 0;
  let listed = false;
  const fake = {
    starts: () => starts,
    emit: (verb: string, arg?: unknown) => {
      for (const cb of callbacks[verb] ?? []) cb(arg);
    },
    create: (_path: string, list: () => Promise<unknown>) => ({
      on: (verb: string, cb: Callback) => {
        callbacks[verb] = [...(callbacks[verb] ?? []), cb];
      },
      off: () => {},
      get: () => undefined,
      list: () => [],
      stop: async () => {},
      start: async () => {
        starts++;
        if (options.resume && listed) return;
        try {
          const result = (await list()) as { items: KubernetesObject[] };
          for (const item of result.items) fake.emit('add', item);
          listed = true;
        } catch (err) {
          fake.emit('error', err);
        }
      },
    }),
  };
  return fake;
}

describe('resilientInformer', () => {
  it('restarts after errors with doubling delays, and syncs once a list succeeds', async () => {
    const fake = fakeInformerFactory();
    const delays: number[] = [];
    const events: string[] = [];
    let failures = 2;
    const informer = resilientInformer<KubernetesObject>({
      name: 'test',
      reader: { stream: () => Promise.reject(new Error('not used')) },
      path: '/apis/bulwark.dev/v1alpha1/imagepolicies',
      list: async () => {
        if (failures-- > 0) throw new Error('connection refused');
        return { apiVersion: 'v1', kind: 'List', metadata: {}, items: [{ metadata: { name: 'a' } }] } as never;
      },
      backoff: { initialMs: 100, maxMs: 150 },
      delay: async (ms) => {
        delays.push(ms);
      },
      create: fake.create as never,
      handlers: {
        upsert: (o) => events.push(`upsert ${o.metadata?.name}`),
        remove: () => {},
        synced: () => events.push('synced'),
        error: (err, retry) => events.push(`error ${(err as Error).message} retry ${retry}`),
      },
    });
    await informer.start();
    await expect.poll(() => events.includes('synced')).toBe(true);
    expect(events).toEqual([
      'error connection refused retry 100',
      'error connection refused retry 150',
      'upsert a',
      'synced',
    ]);
    expect(delays).toEqual([100, 150]);
    expect(informer.restarts).toBe(2);

    // A watch that breaks later is restarted too, with the delay reset after the good sync.
    fake.emit('error', new Error('watch closed'));
    await expect.poll(() => fake.starts()).toBe(4);
    expect(delays).toEqual([100, 150, 100]);
    await informer.stop();
  });

  it('after a broken watch, reports an error, then synced again once the watch is resumed', async () => {
    const fake = fakeInformerFactory({ resume: true });
    const events: string[] = [];
    const informer = resilientInformer<KubernetesObject>({
      name: 'test',
      reader: { stream: () => Promise.reject(new Error('not used')) },
      path: '/x',
      list: async () => ({ apiVersion: 'v1', kind: 'List', metadata: {}, items: [] }) as never,
      delay: async () => {},
      create: fake.create as never,
      handlers: {
        upsert: () => {},
        remove: () => {},
        synced: () => events.push('synced'),
        error: (err) => events.push(`error ${(err as Error).message}`),
      },
    });
    await informer.start();
    fake.emit('error', new Error('terminated'));
    await expect.poll(() => events.length).toBe(3);
    expect(events).toEqual(['synced', 'error terminated', 'synced']);
    expect(fake.starts()).toBe(2);
    await informer.stop();
  });

  it('does not restart once stopped', async () => {
    const fake = fakeInformerFactory();
    const informer = resilientInformer<KubernetesObject>({
      name: 'test',
      reader: { stream: () => Promise.reject(new Error('not used')) },
      path: '/x',
      list: async () => ({ apiVersion: 'v1', kind: 'List', metadata: {}, items: [] }) as never,
      delay: async () => {},
      create: fake.create as never,
      handlers: { upsert: () => {}, remove: () => {}, synced: () => {}, error: () => {} },
    });
    await informer.start();
    await informer.stop();
    fake.emit('error', new Error('late'));
    await new Promise((r) => setTimeout(r, 10));
    expect(fake.starts()).toBe(1);
  });
});
