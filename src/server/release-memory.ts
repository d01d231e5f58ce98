// Start-up leaves garbage behind (modules compiled, policies listed and compiled): V8 frees
// it at the next collections but keeps the freed pages pooled, and an idle webhook never
// collects again, so the RSS stays where start-up left it. Once the webhook is first ready,
// one memory-reducing full collection (V8's "last resort": several full collections,
// pooled pages returned) gives about 20 MB back (issue 19). It needs `gc`, which only
// `node --expose-gc` defines (the image's ENTRYPOINT); without it nothing happens. Done
// once, not after every audit scan: a full collection pauses requests for tens of ms.

import { getHeapStatistics } from 'node:v8';

export type GcFunction = (options: { type: 'major'; execution: 'async'; flavor: 'regular' | 'last-resort' }) => unknown;

export interface ReleaseOptions {
  /** True once every source is synced (the readiness probe's condition). */
  ready: () => boolean;
  /** Default: globalThis.gc, when exposed. */
  gc?: GcFunction | undefined;
  /** How often readiness is checked until it holds. */
  intervalMs?: number;
}

/** Releases start-up memory once, when `ready` first holds; returns a stop function. */
export function releaseStartupMemory(options: ReleaseOptions): () => void {
  const gc = options.gc ?? (globalThis as { gc?: GcFunction }).gc;
  if (!gc) return () => {};
  const timer = setInterval(() => {
    if (!options.ready()) return;
    clearInterval(timer);
    gc({ type: 'major', execution: 'async', flavor: 'last-resort' });
  }, options.intervalMs ?? 500);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The same memory-reducing collection, now: after a leader's audit scan, which reads and
 * judges every locked object (10,000 of them leave some 80 MB of garbage and a grown young
 * generation that an idle process never collects; issue 19). One collection a scan, on
 * the leader only. Without `--expose-gc`, nothing.
 */
export function releaseMemoryNow(gc = (globalThis as { gc?: GcFunction }).gc): void {
  gc?.({ type: 'major', execution: 'async', flavor: 'last-resort' });
}

/** Heap growth between the pages of an audit scan that earns a collection (collectWhenGrown). */
export const SCAN_GROWTH_MIB = 16;

/**
 * Between the pages of a leader's audit scan: one full collection (not memory-reducing) once
 * the heap has grown by more than `growthMiB` since its lowest point after the last one. A
 * first scan of 10,000 locked objects makes some 10 MiB of garbage per 1,000 objects (pages
 * parsed, hashes, seal writes and their answers), which V8 lets pile up by some 40 MiB
 * before it collects on its own; the pages it then frees stay in the RSS, so that pile was
 * the scan's peak. Collected sooner, the pile stays near `growthMiB`. Without gc, nothing.
 */
export function collectWhenGrown(
  options: { growthMiB?: number; gc?: GcFunction | undefined; heapUsed?: () => number } = {},
): () => void {
  const gc = 'gc' in options ? options.gc : (globalThis as { gc?: GcFunction }).gc;
  if (!gc) return () => {};
  const limit = (options.growthMiB ?? SCAN_GROWTH_MIB) * 1048576;
  const heapUsed = options.heapUsed ?? (() => getHeapStatistics().used_heap_size);
  let lowest = heapUsed();
  let collecting = false;
  return () => {
    if (collecting) return;
    const used = heapUsed();
    lowest = Math.min(lowest, used);
    if (used - lowest <= limit) return;
    collecting = true;
    void Promise.resolve(gc({ type: 'major', execution: 'async', flavor: 'regular' })).finally(() => {
      collecting = false;
      lowest = heapUsed();
    });
  };
}
