// One watch request: GET ...?watch=true, one JSON event a line, over the reader's own
// connection settings. It replaces client-node's Watch (which brings undici and the
// generated API models: tens of MB at start, issue 19) and keeps its contract: `done`
// once, with an error whose statusCode is the HTTP status when the server refuses, a
// TimeoutError after `inactivityMs` without a byte, and null when the server ends the
// watch. Aborting by the caller calls nothing. Unlike client-node's, a line that is not
// JSON ends the watch with an error rather than being skipped.

import { createInterface } from 'node:readline';
import type { KubeReader } from './kube-client.ts';

export type WatchPhase = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchRequest {
  path: string;
  query: Record<string, string | boolean | undefined>;
  /** Another representation (metadata only); the list must ask for the same. */
  accept?: string;
  onEvent(phase: WatchPhase, object: unknown): void;
  done(err: unknown): void;
  /** client-node's 30 s: a watch silent that long is presumed dead (bookmarks keep a live one talking). */
  inactivityMs?: number;
}

export function timeoutError(): Error {
  return new DOMException('The operation was aborted due to timeout', 'TimeoutError');
}

export interface WatchHandle {
  /** Ends the watch without calling `done`. */
  abort(): void;
  /**
   * Settles once the server answered (the watch runs) or the watch has failed (`done` was
   * called first): as client-node's Watch, whose caller learns a refused watch before it goes on.
   */
  connected: Promise<void>;
}

/** Starts a watch. */
export function startWatch(reader: Pick<KubeReader, 'stream'>, request: WatchRequest): WatchHandle {
  const controller = new AbortController();
  const inactivityMs = request.inactivityMs ?? 30_000;
  let finished = false;
  let timer: NodeJS.Timeout | undefined;
  const finish = (err: unknown) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    controller.abort();
    request.done(err);
  };
  controller.signal.addEventListener('abort', () => {
    finished = true;
    clearTimeout(timer);
  });
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => finish(timeoutError()), inactivityMs);
    timer.unref();
  };
  const params = new URLSearchParams({ watch: 'true' });
  for (const [k, v] of Object.entries(request.query)) if (v !== undefined) params.set(k, String(v));
  const sep = request.path.includes('?') ? '&' : '?';
  rearm();
  const connected = reader
    .stream(`${request.path}${sep}${params}`, {
      signal: controller.signal,
      ...(request.accept ? { accept: request.accept } : {}),
    })
    .then((res) => {
      // First, whatever follows: a response ended by our abort emits 'error' (aborted).
      res.on('error', finish);
      if (finished) return void res.destroy();
      if (res.statusCode !== 200) {
        res.resume();
        const error = Object.assign(new Error(res.statusMessage || `HTTP ${res.statusCode}`), {
          statusCode: res.statusCode,
        });
        return finish(error);
      }
      rearm();
      res.on('data', rearm);
      res.on('close', () => finish(null));
      const lines = createInterface({ input: res, crlfDelay: Number.POSITIVE_INFINITY });
      lines.on('error', finish); // readline re-emits the response's errors: unhandled, they would crash
      lines.on('line', (line) => {
        if (finished || line === '') return;
        let event: { type?: WatchPhase; object?: unknown };
        try {
          event = JSON.parse(line) as typeof event;
        } catch {
          // client-node skips such a line; then the event in it is lost and the cache stays
          // stale with nobody told. Ending the watch instead makes the caller resume from the
          // last event it did read, so the apiserver sends this one again (fail loud, heal).
          return finish(new Error(`watch ${request.path} sent a line that is not JSON: ${line.slice(0, 80)}`));
        }
        if (event.type) request.onEvent(event.type, event.object);
      });
    })
    .catch((err: unknown) => finish(err));
  return { abort: () => controller.abort(), connected };
}
