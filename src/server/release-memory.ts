// Start-up leaves garbage behind (modules compiled, policies listed and compiled): V8 frees
// it at the next collections but keeps the freed pages pooled, and an idle webhook never
// collects again, so the RSS stays where start-up left it. Once the webhook is first ready,
// one memory-reducing full collection (V8's "last resort": several full collections,
// pooled pages returned) gives about 20 MB back (issue 19). It needs `gc`, which only
// `node --expose-gc` defines (the image's ENTRYPOINT); without it nothing happens. Done
// once, not after every audit scan: a full collection pauses requests for tens of ms.

export type GcFunction = (options: { type: 'major'; execution: 'async'; flavor: 'last-resort' }) => unknown;

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
