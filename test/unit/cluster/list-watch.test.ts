// The list-watch cache that replaced client-node's ListWatch keeps its contract: list, then
// watch from the list's resourceVersion; a watch the server ends is resumed where it
// stopped (no list), a 410 relists (and what vanished meanwhile is reported deleted), a
// refused watch is an error that stops the cache; every object passes the transform.
// The apiserver's side is a fake stream here; e2e (cluster-shell, startup-unsynced,
// policies) runs the same code against the real one.

import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { listWatch, type KubeItem } from '../../../src/cluster/list-watch.ts';

interface Item extends KubeItem {
  spec?: string;
  status?: string;
}

const item = (name: string, rv: string, spec = 'a'): Item => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv },
  spec,
  status: 'big',
});

/** A fake apiserver: each watch request gets a stream the test writes events into. */
function fakeServer() {
  const watches: { path: string; res: PassThrough & { statusCode?: number } }[] = [];
  let status = 200;
  return {
    watches,
    refuse: (code: number) => {
      status = code;
    },
    reader: {
      stream: async (path: string) => {
        const res = Object.assign(new PassThrough(), { statusCode: status, statusMessage: 'refused' });
        watches.push({ path, res });
        return res as unknown as IncomingMessage;
      },
    },
    send: (type: string, object: unknown) => watches.at(-1)!.res.write(`${JSON.stringify({ type, object })}\n`),
  };
}

const tick = () => new Promise((r) => setTimeout(r, 10));

function started(lists: Item[][], inactivityMs?: number) {
  const server = fakeServer();
  const delays: number[] = [];
  const events: string[] = [];
  const errors: unknown[] = [];
  let listed = 0;
  const cache = listWatch<Item>({
    reader: server.reader,
    path: '/apis/x/v1/things',
    list: async () => ({
      items: lists[Math.min(listed, lists.length - 1)]!,
      metadata: { resourceVersion: `${++listed}0` },
    }),
    transform: ({ status: _status, ...kept }) => kept,
    delay: async (ms) => void delays.push(ms),
    ...(inactivityMs ? { inactivityMs } : {}),
  });
  cache.on('add', (o) => events.push(`add ${o.metadata?.name} ${o.metadata?.resourceVersion}`));
  cache.on('update', (o) => events.push(`update ${o.metadata?.name} ${o.metadata?.resourceVersion}`));
  cache.on('delete', (o) => events.push(`delete ${o.metadata?.name}`));
  cache.on('error', (e) => errors.push(e));
  return { server, cache, delays, events, errors, lists: () => listed };
}

describe('listWatch', () => {
  it('lists, watches from the list, keeps the transformed objects and reports add, update, delete', async () => {
    const { server, cache, events } = started([[item('a', '5')]]);
    await cache.start();
    expect(server.watches[0]!.path).toBe('/apis/x/v1/things?watch=true&resourceVersion=10&allowWatchBookmarks=true');
    server.send('ADDED', item('b', '11'));
    server.send('MODIFIED', item('a', '12', 'changed'));
    server.send('MODIFIED', item('a', '12', 'changed')); // same resourceVersion: no update
    server.send('BOOKMARK', { metadata: { resourceVersion: '13' } });
    server.send('DELETED', item('b', '14'));
    await tick();
    expect(events).toEqual(['add a 5', 'add b 11', 'update a 12', 'delete b']);
    expect(cache.get('a', 'ns')).toEqual({
      metadata: { name: 'a', namespace: 'ns', resourceVersion: '12' },
      spec: 'changed',
    });
    expect(cache.list()).toHaveLength(1);
    // The server ends the watch: resumed from the bookmark, without a list, at once (events arrived).
    server.watches[0]!.res.end();
    await tick();
    expect(server.watches[1]!.path).toContain('resourceVersion=14');
    await cache.stop();
  });

  it('relists after 410 Gone and reports what vanished meanwhile as deleted', async () => {
    const { server, cache, events, lists } = started([[item('a', '5'), item('b', '6')], [item('b', '6')]]);
    await cache.start();
    server.send('ERROR', { kind: 'Status', code: 410 });
    server.watches[0]!.res.end();
    await tick();
    expect(lists()).toBe(2);
    expect(events).toEqual(['add a 5', 'add b 6', 'delete a']);
    expect(server.watches[1]!.path).toContain('resourceVersion=20');
    await cache.stop();
  });

  it('stops with an error when the watch is refused, and when the list fails', async () => {
    const { server, cache, errors } = started([[]]);
    server.refuse(403);
    await cache.start();
    await tick();
    expect(errors).toMatchObject([{ statusCode: 403 }]);
    expect(server.watches).toHaveLength(1);
    const failing = listWatch<Item>({
      reader: server.reader,
      path: '/x',
      list: async () => Promise.reject(new Error('connection refused')),
    });
    const seen: unknown[] = [];
    failing.on('error', (e) => seen.push(e));
    await failing.start();
    expect(seen).toMatchObject([{ message: 'connection refused' }]);
  });

  it('reports a broken watch as an error, and a response that breaks after stop() as nothing (no crash)', async () => {
    const { server, cache, errors } = started([[item('a', '5')]]);
    await cache.start();
    server.watches[0]!.res.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    await tick();
    expect(errors).toMatchObject([{ message: 'aborted' }]);
    await cache.start();
    await cache.stop();
    server.watches[1]!.res.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    await tick();
    expect(errors).toHaveLength(1);
  });

  it('ends the watch on a line that is not JSON, and the next watch resumes before it (no event lost)', async () => {
    const { server, cache, errors, events, lists } = started([[item('a', '5')]]);
    await cache.start();
    server.send('MODIFIED', item('a', '11', 'seen'));
    server.watches[0]!.res.write('{"type":"MODIFIED","object":{"metadata":{"name":"a"\n');
    await tick();
    expect(errors).toMatchObject([{ message: expect.stringContaining('sent a line that is not JSON') }]);
    await cache.start(); // what the resilient informer does after an error
    expect(lists()).toBe(1);
    expect(server.watches[1]!.path).toContain('resourceVersion=11');
    server.send('MODIFIED', item('a', '12', 'resent'));
    await tick();
    expect(events).toEqual(['add a 5', 'update a 11', 'update a 12']);
    await cache.stop();
  });

  it('re-watches from where it was, without a list, after a watch stayed silent too long', async () => {
    const { server, cache, lists, errors } = started([[item('a', '5')]], 30);
    await cache.start();
    await new Promise((r) => setTimeout(r, 80));
    expect(errors).toEqual([]);
    expect(lists()).toBe(1);
    expect(server.watches.length).toBeGreaterThanOrEqual(2);
    expect(server.watches[1]!.path).toContain('resourceVersion=10');
    await cache.stop();
  });

  it('waits 1 s, doubling, before reopening watches the server ends while nothing happens', async () => {
    const { server, cache, delays } = started([[]]);
    await cache.start();
    for (let i = 0; i < 3; i++) {
      server.watches.at(-1)!.res.end();
      await tick();
    }
    expect(delays).toEqual([1000, 2000]);
    await cache.stop();
    server.watches.at(-1)!.res.end();
    await tick();
    expect(server.watches).toHaveLength(4);
  });
});
