// Timeouts and caps for the HTTPS server, suited to its one legitimate client: the
// apiserver sends each review whole, at once, over kept-alive connections. Without them
// 5,000 idle TLS connections stayed open for minutes (231 MiB) and clients trickling a
// header byte a second were never cut off.

import type { ServerOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { sampledWarning } from '../observability/sampled-warning.ts';
import type { WebhookServer } from './secure-server.ts';

export interface ConnectionLimits {
  /** The request headers (or, on a new TLS connection, its first byte) must arrive within this. */
  headersTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this. */
  requestTimeoutMs: number;
  /**
   * Idle time before the server closes a kept-alive connection: above the apiserver's own
   * idle timeout (Go's transport: 90 s), so that the apiserver is the one to close and never
   * sends a review on a connection being closed.
   */
  keepAliveTimeoutMs: number;
  /** How often expired requests are looked for (Node's default, 30 s, would let slow clients linger). */
  checkIntervalMs: number;
  /** HTTP/2: streams (requests) in flight at once on one connection; the peer opens another beyond. */
  maxConcurrentStreams: number;
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: Omit<ConnectionLimits, 'maxConnections'> = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 95_000,
  checkIntervalMs: 1_000,
  // Go's own HTTP/2 server allows 250; the apiserver rarely has more than a few dozen reviews
  // in flight per replica, and the body budget bounds their memory in any case.
  maxConcurrentStreams: 100,
};

/** Options for https.createServer. */
export function serverOptions(limits: ConnectionLimits): ServerOptions {
  return {
    // A busy replica may take a while to get to a handshake; a silent client after it gets headersTimeout.
    handshakeTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
  };
}

const FIRST_REQUEST = Symbol('bulwark.firstRequest');

/** Caps connections on a created server, counting and logging (sampled) those turned away. */
export function capConnections(
  server: WebhookServer,
  limits: ConnectionLimits,
  observe: { logger: Logger; metrics: Metrics },
): void {
  server.maxConnections = limits.maxConnections;
  // The first request must come whole within headersTimeout of the handshake. node:http's
  // own headersTimeout let a connection that sent one byte and then nothing stay open (seen
  // on Node 24), and one that sends nothing is not a request at all to it. Later requests
  // on a kept-alive connection are node:http's to time (HTTP/2: secure-server.ts). The timer
  // rides on the socket itself: an HTTP/2 session's `socket` is a proxy that forwards to it.
  server.on('secureConnection', (socket: Socket & { [FIRST_REQUEST]?: NodeJS.Timeout }) => {
    const timer = setTimeout(() => socket.destroy(), limits.headersTimeoutMs);
    timer.unref();
    socket[FIRST_REQUEST] = timer;
    socket.once('close', () => clearTimeout(timer));
  });
  type Timed = { [FIRST_REQUEST]?: NodeJS.Timeout };
  server.on('request', (req: { httpVersionMajor: number; socket: Timed }) => {
    if (req.httpVersionMajor !== 2) clearTimeout(req.socket[FIRST_REQUEST]);
  });
  // HTTP/2: once per session, not per request (a request's socket is a new proxy each time).
  server.on('session', (session: { socket: Timed; once(event: 'stream', listener: () => void): void }) =>
    session.once('stream', () => clearTimeout(session.socket[FIRST_REQUEST])),
  );
  const noise = sampledWarning(observe.logger);
  server.on('drop', (data?: { remoteAddress?: string }) => {
    observe.metrics.observeDroppedConnection();
    noise.warn(
      { maxConnections: limits.maxConnections, remoteAddress: data?.remoteAddress },
      'connection limit reached: closed a new connection (maxConnections)',
    );
  });
}
