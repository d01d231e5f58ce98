// Watches that let the drift audit react within seconds instead of at the next scan. After
// each full scan the leader watches, label-selected on the server, every resource that holds
// locked objects, from the resourceVersion of the scan's own list: nothing between the list
// and the watch is missed, and nothing already judged is replayed. Watches keep no cache
// (a bare watch, not an informer): an event is judged and let go. A watch the server
// closes (its timeout) resumes from the last resourceVersion seen; one that is too old (410
// Gone) waits for the next scan, which lists afresh. Resources that get their first locked
// object are watched from the next scan on; the periodic scan stays the safety net.

import type { KubeObject } from '../admission/types.ts';
import { resourcePath, type ApiResource } from '../cluster/discovery.ts';
import type { KubeReader } from '../cluster/kube-client.ts';
import { startWatch, type WatchHandle } from '../cluster/watch-stream.ts';
import { messageOf } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';

export interface WatchStart {
  resource: ApiResource;
  /** The resourceVersion of the scan's list of this resource. */
  resourceVersion: string;
}

export type WatchEvent = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface LockWatchOptions {
  reader: Pick<KubeReader, 'stream'>;
  logger: Logger;
  /** Called for each event, in order per resource; DELETED also when an object stops matching the selector. */
  onEvent(resource: ApiResource, type: WatchEvent, object: KubeObject): void;
  /** Pause before resuming a watch the server closed (injectable for tests). */
  resumeAfterMs?: number;
}

export function createLockWatches(options: LockWatchOptions) {
  const { logger } = options;
  let controllers: WatchHandle[] = [];
  /** Bumped by every restart and stop: a watch of an older generation ends and is not resumed. */
  let generation = 0;

  function watchOne(start: WatchStart, selector: string, mine: number): void {
    let resourceVersion = start.resourceVersion;
    let gone = false;
    const path = resourcePath(start.resource);
    const resume = () => {
      if (mine !== generation || gone) return;
      setTimeout(open, options.resumeAfterMs ?? 1_000).unref();
    };
    function open(): void {
      if (mine !== generation) return;
      const controller = startWatch(options.reader, {
        path,
        query: { labelSelector: selector, resourceVersion, allowWatchBookmarks: true },
        onEvent: (phase, event) => {
          const object = event as KubeObject & { code?: number };
          if (phase === 'ERROR') {
            // 410 Gone: our resourceVersion is too old; the next scan lists and restarts.
            gone = true;
            logger.info({ resource: path, code: object?.code }, 'audit: watch expired; the next scan resumes it');
            return;
          }
          resourceVersion = object?.metadata?.resourceVersion ?? resourceVersion;
          if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED')
            options.onEvent(start.resource, phase, object);
        },
        done: (err: unknown) => {
          controllers = controllers.filter((c) => c !== controller);
          if (err && mine === generation) logger.warn({ resource: path, err: messageOf(err) }, 'audit: watch ended');
          resume();
        },
      });
      controllers.push(controller);
    }
    open();
  }

  function stop(): void {
    generation += 1;
    for (const c of controllers) c.abort();
    controllers = [];
  }

  return {
    /** Replaces every watch with one per resource in `starts`. */
    restart(starts: readonly WatchStart[], selector: string): void {
      stop();
      for (const s of starts) watchOne(s, selector, generation);
    },
    stop,
    /** Watches open now. */
    get open(): number {
      return controllers.length;
    },
  };
}
