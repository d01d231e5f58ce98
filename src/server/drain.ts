// Shutting down without a single reset connection. The apiserver keeps a pool of
// kept-alive connections to the webhook Service, and a Service's ClusterIP keeps existing
// connections on a terminating pod after its endpoint is gone. Closing an idle connection
// while the apiserver is writing a review into it resets that review, and the apiserver
// does not retry a POST: a failed admission (seen once in 3,116 writes during a helm
// upgrade when drain closed every idle connection at once).
//
// So the drain runs in two steps. First every answer carries `Connection: close`: each
// connection the apiserver still uses is closed by the answer, cleanly, after which the
// apiserver opens new connections to the other replicas. Once no review has arrived for
// a quiet period, what is left is idle connections at the bottom of the apiserver's pool;
// then the server stops listening and closes them, and whatever is still in flight gets
// the rest of the budget before every connection is cut.

import type { Server } from 'node:https';

export interface DrainTiming {
  /** The whole budget: in-flight reviews are cut after this. */
  budgetMs: number;
  /** No review for this long means the apiserver has moved to other replicas. */
  quietMs: number;
  /** How often the quiet period is checked. */
  pollMs: number;
}

/** Drain timing for a budget of drainSeconds: the quiet step takes at most half of it. */
export function drainTiming(drainSeconds: number): DrainTiming {
  const budgetMs = drainSeconds * 1000;
  return { budgetMs, quietMs: Math.min(1000, budgetMs / 4), pollMs: 50 };
}

/**
 * Starts answering every review with `Connection: close` and returns the drain: it
 * resolves when the server is closed. Call it once.
 */
export async function drainServer(server: Server, timing: DrainTiming): Promise<void> {
  let lastRequestAt = Date.now();
  server.prependListener('request', (_req, res) => {
    lastRequestAt = Date.now();
    res.setHeader('connection', 'close');
  });
  const start = Date.now();
  const quietUntil = start + timing.budgetMs / 2;
  while (Date.now() < quietUntil && (await openConnections(server)) > 0) {
    if (Date.now() - lastRequestAt >= timing.quietMs) break;
    await sleep(timing.pollMs);
  }
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const cut = setTimeout(() => server.closeAllConnections(), Math.max(0, start + timing.budgetMs - Date.now()));
  await closed;
  clearTimeout(cut);
}

function openConnections(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((err, count) => resolve(err ? 0 : count)));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
