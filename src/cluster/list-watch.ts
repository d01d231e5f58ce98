// A list-then-watch cache of one resource, with client-node's ListWatch semantics (which
// the resilient informer around it relies on): start() lists unless it holds a
// resourceVersion, then watches from it; a watch the server ends is opened again (after
// 1 s doubling to 30 s while no event arrives), one that timed out at once, one that is
// too old (410) after a fresh list; any other failure is reported to 'error' and the cache
// stops until start() again. Objects pass through `transform` before they are cached and
// handed on: a cache keeps only what its users read (issue 19).

import { startWatch, type WatchHandle } from './watch-stream.ts';
import type { KubeReader } from './kube-client.ts';

export interface KubeItem {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface KubeList<T> {
  items: T[];
  metadata?: { resourceVersion?: string };
}

export type ListWatchVerb = 'add' | 'update' | 'delete' | 'error';

/** What the resilient informer uses of a cache (client-node's Informer has the same shape). */
export interface WatchedCache<T> {
  on(verb: 'add' | 'update' | 'delete', cb: (object: T) => void): void;
  on(verb: 'error', cb: (err: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  list(): T[];
}

const BASE_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;

export function listWatch<T extends KubeItem>(options: {
  reader: Pick<KubeReader, 'stream'>;
  path: string;
  list: () => Promise<KubeList<T>>;
  accept?: string;
  transform?: (object: T) => T;
  /** Injectable for tests. */
  delay?: (ms: number) => Promise<void>;
  inactivityMs?: number;
}): WatchedCache<T> {
  const transform = options.transform ?? ((o: T) => o);
  const delay = options.delay ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const callbacks: Record<ListWatchVerb, ((arg: never) => void)[]> = { add: [], update: [], delete: [], error: [] };
  const emit = (verb: ListWatchVerb, arg: unknown) => {
    for (const cb of callbacks[verb].slice()) (cb as (a: unknown) => void)(arg);
  };
  /** namespace ('' when cluster-scoped) -> name -> object */
  let objects = new Map<string, Map<string, T>>();
  let resourceVersion = '';
  let stopped = false;
  let connected = false;
  let reconnectMs = 0;
  let request: WatchHandle | undefined;

  const keyOf = (o: T) => [o.metadata?.namespace ?? '', o.metadata?.name ?? ''] as const;

  function namespaceOf(into: Map<string, Map<string, T>>, ns: string): Map<string, T> {
    const found = into.get(ns);
    if (found) return found;
    const made = new Map<string, T>();
    into.set(ns, made);
    return made;
  }

  function put(raw: T): void {
    const o = transform(raw);
    const [ns, name] = keyOf(o);
    const inNs = namespaceOf(objects, ns);
    const found = inNs.get(name);
    if (!found) {
      inNs.set(name, o);
      emit('add', o);
    } else if (
      found.metadata?.resourceVersion == null ||
      found.metadata.resourceVersion !== o.metadata?.resourceVersion
    ) {
      inNs.set(name, o);
      emit('update', o);
    }
  }

  function remove(raw: T): void {
    const [ns, name] = keyOf(raw);
    const inNs = objects.get(ns);
    const found = inNs?.get(name);
    if (!inNs || !found) return;
    inNs.delete(name);
    if (inNs.size === 0) objects.delete(ns);
    emit('delete', transform(raw));
  }

  /** After a fresh list: what is no longer listed is deleted, the rest added or updated. */
  function replace(items: T[]): void {
    const listed = new Set(items.map((o) => keyOf(o).join('/')));
    const before = objects;
    objects = new Map();
    for (const [ns, inNs] of before) {
      for (const [name, o] of inNs) {
        if (listed.has(`${ns}/${name}`)) namespaceOf(objects, ns).set(name, o);
        else emit('delete', o);
      }
    }
    for (const item of items) put(item);
  }

  async function done(err: unknown): Promise<void> {
    request?.abort();
    request = undefined;
    const e = err as { statusCode?: number; code?: number; name?: string } | null | undefined;
    if (e && (e.statusCode === 410 || e.code === 410)) resourceVersion = '';
    else if (e && e.name === 'TimeoutError') reconnectMs = 0;
    else if (e) return emit('error', err);
    if (stopped) return;
    if (!resourceVersion) {
      let list: KubeList<T>;
      try {
        list = await options.list();
      } catch (listError) {
        return emit('error', listError);
      }
      replace(list.items ?? []);
      resourceVersion = list.metadata?.resourceVersion ?? '';
    }
    if (reconnectMs > 0 && connected) await delay(reconnectMs);
    if (connected) reconnectMs = Math.min(reconnectMs > 0 ? reconnectMs * 2 : BASE_DELAY_MS, MAX_DELAY_MS);
    connected = true;
    if (stopped) return;
    const watch = startWatch(options.reader, {
      path: options.path,
      query: { resourceVersion, allowWatchBookmarks: true },
      ...(options.accept ? { accept: options.accept } : {}),
      ...(options.inactivityMs ? { inactivityMs: options.inactivityMs } : {}),
      onEvent: (phase, object) => {
        const o = object as T & { code?: number };
        if (phase === 'ERROR') {
          if (o?.code === 410) resourceVersion = '';
          return; // the server ends the watch after it; done() decides
        }
        if (phase === 'ADDED' || phase === 'MODIFIED') put(o);
        else if (phase === 'DELETED') remove(o);
        reconnectMs = 0;
        resourceVersion = o?.metadata?.resourceVersion ?? '';
      },
      done: (watchError) => void done(watchError),
    });
    request = watch;
    // Like client-node's: start() settles once the watch is up or has failed (then 'error' came first).
    await watch.connected;
  }

  return {
    on(verb: ListWatchVerb, cb: (arg: never) => void) {
      callbacks[verb].push(cb);
    },
    async start() {
      stopped = false;
      reconnectMs = 0;
      connected = false;
      await done(null);
    },
    async stop() {
      stopped = true;
      request?.abort();
      request = undefined;
    },
    get: (name, namespace) => objects.get(namespace ?? '')?.get(name),
    list: () => [...objects.values()].flatMap((inNs) => [...inNs.values()]),
  };
}
