// A list-and-watch that never stops silently. A list-watch cache stops for good on an
// error (client-node's did, and ours keeps its contract: list-watch.ts); this one restarts
// it with exponential backoff, reports each error (the webhook is then not ready) and tells
// when its cache is complete again (after the first list, and after each successful restart).

import type { KubeReader } from './kube-client.ts';
import { listWatch, type KubeItem, type KubeList, type WatchedCache } from './list-watch.ts';

export interface InformerHandlers<T extends KubeItem> {
  upsert(object: T): void;
  remove(object: T): void;
  /**
   * The cache is complete again: after the first list, and after every restart that
   * relisted or resumed its watch (events missed meanwhile follow at once).
   */
  synced(): void;
  /** The watch or list failed; it is retried after `retryInMs`. */
  error(error: unknown, retryInMs: number): void;
}

export interface ResilientInformerOptions<T extends KubeItem> {
  name: string;
  reader: Pick<KubeReader, 'stream'>;
  /** API path to watch, e.g. /apis/bulwark.dev/v1alpha1/imagepolicies */
  path: string;
  list: () => Promise<KubeList<T>>;
  /** Another representation for the watch (e.g. metadata only); `list` must ask for the same. */
  accept?: string;
  /** What the cache keeps of each object (and hands to the handlers). */
  transform?: (object: T) => T;
  handlers: InformerHandlers<T>;
  backoff?: { initialMs: number; maxMs: number };
  /** Injectable for tests. */
  delay?: (ms: number) => Promise<void>;
  create?: (path: string, list: () => Promise<KubeList<T>>) => WatchedCache<T>;
}

export interface ResilientInformer<T> {
  start(): Promise<void>;
  stop(): Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  /** Every cached object. */
  list(): readonly T[];
  /** Restarts after errors so far. */
  readonly restarts: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export function resilientInformer<T extends KubeItem>(options: ResilientInformerOptions<T>): ResilientInformer<T> {
  const { handlers } = options;
  // Capped at 10 s: an unsynced replica refuses every request, so it should be back soon
  // after the apiserver is; four informers retrying every 10 s cost the apiserver little.
  const backoff = options.backoff ?? { initialMs: 500, maxMs: 10_000 };
  const delay = options.delay ?? sleep;
  /** Errors so far: a start that saw none is synced (a round's restart starts only after an error). */
  let failures = 0;
  let stopped = false;
  let restarts = 0;
  let nextDelayMs = backoff.initialMs;

  const create =
    options.create ??
    ((path: string, list: () => Promise<KubeList<T>>) =>
      listWatch<T>({
        reader: options.reader,
        path,
        list,
        ...(options.accept ? { accept: options.accept } : {}),
        ...(options.transform ? { transform: options.transform } : {}),
      }));
  const informer = create(options.path, options.list);
  informer.on('add', (o) => handlers.upsert(o));
  informer.on('update', (o) => handlers.upsert(o));
  informer.on('delete', (o) => handlers.remove(o));
  informer.on('error', (err) => retryAfter(err));

  function retryAfter(err: unknown): void {
    failures++;
    if (stopped) return;
    const wait = nextDelayMs;
    nextDelayMs = Math.min(nextDelayMs * 2, backoff.maxMs);
    handlers.error(err, wait);
    void delay(wait).then(() => {
      if (stopped) return;
      restarts++;
      return run();
    });
  }

  async function run(): Promise<void> {
    const failuresBefore = failures;
    try {
      await informer.start();
    } catch (err) {
      retryAfter(err);
      return;
    }
    // A restart after an error resumes the watch from the last resourceVersion without a
    // list (the cache relists only on 410 Gone); a connected watch is synced as well.
    if (failures === failuresBefore && !stopped) {
      nextDelayMs = backoff.initialMs;
      handlers.synced();
    }
  }

  return {
    start: run,
    async stop() {
      stopped = true;
      await informer.stop();
    },
    get: (name, namespace) => informer.get(name, namespace),
    list: () => informer.list(),
    get restarts() {
      return restarts;
    },
  };
}
