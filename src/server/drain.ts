// Shutting down without a single reset connection. The apiserver keeps a pool of
// kept-alive connections to the webhook Service, and a Service's ClusterIP keeps existing
// connections on a terminating pod after its endpoint is gone. Closing an idle connection
// while the apiserver is writing a review into it resets that review, and the apiserver
// does not retry a POST: a failed admission. Seen during helm upgrades under load: once in
// 3,116 writes when the drain closed every idle connection at once, and again when it
// closed those idle for a second (under a burst the apiserver digs into its older ones).
//
// So the drain never closes a kept-alive connection itself while the budget lasts. Every
// answer carries `Connection: close`: each connection the apiserver still uses is closed by
// the answer, cleanly, and the apiserver's next connection goes to another replica. The
// connections it no longer uses it closes itself after its idle timeout (Go's transport:
// 90 s), which is why the chart's budget is longer than that. When none is left, or the
// budget is spent, the server stops and cuts whatever remains.
//
// HTTP/2 has the clean signal HTTP/1.1 lacks: GOAWAY names the last stream the server
// takes; the streams before it finish, and the client knows that any later one was never
// processed and sends it again on a new connection (Go's transport does). So every session
// gets a GOAWAY at once, busy or idle, and so does any session that sends a request later.

import type { Http2ServerRequest } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isHttp2Request } from './protocol.ts';
import { closeAllConnections, isHttp2Server, openSessions, type WebhookServer } from './secure-server.ts';

export interface DrainTiming {
  /** Connections still open after this are cut. */
  budgetMs: number;
  /** How often open connections are counted. */
  pollMs: number;
}

export function drainTiming(drainSeconds: number): DrainTiming {
  return { budgetMs: drainSeconds * 1000, pollMs: 100 };
}

/**
 * Starts answering every review with `Connection: close`, then resolves once every
 * connection is gone and the server closed. Call it once.
 */
export async function drainServer(server: WebhookServer, timing: DrainTiming): Promise<void> {
  server.prependListener('request', (req: IncomingMessage | Http2ServerRequest, res: ServerResponse) => {
    if (isHttp2Request(req)) req.stream.session?.close();
    else res.setHeader('connection', 'close');
  });
  if (isHttp2Server(server)) for (const session of openSessions(server)) session.close();
  const deadline = Date.now() + timing.budgetMs;
  while (Date.now() < deadline && (await openConnections(server)) > 0) await sleep(timing.pollMs);
  // Only now: since Node 19, close() also closes idle connections.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  closeAllConnections(server);
  await closed;
}

function openConnections(server: WebhookServer): Promise<number> {
  return new Promise((resolve) => server.getConnections((err, count) => resolve(err ? 0 : count)));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
