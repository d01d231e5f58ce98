// The TLS front door, HTTP/2 and HTTP/1.1 on one port. kube-apiserver is a Go client: it
// offers ALPN `h2,http/1.1`, and over HTTP/1.1 it needs one connection per review in
// flight (each a TLS handshake when its pool runs short), while over HTTP/2 it multiplexes
// them on one. node:https only ever answers http/1.1; node:http2 with allowHTTP1 takes h2
// and still serves HTTP/1.1 clients (curl --http1.1, probes, older tooling) the same way.
// `--http2=false` serves HTTP/1.1 alone, as before.
//
// The app is a node:http request listener: it uses only what the HTTP/2 compatibility
// request and response also have (url, method, headers, the body stream, writeHead,
// setHeader, end, 'close'), which the tests check over both protocols.

import type { RequestListener } from 'node:http';
import {
  constants,
  createSecureServer,
  type Http2SecureServer,
  type Http2Session,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Stream,
} from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TlsOptions } from 'node:tls';
import { serverOptions, type ConnectionLimits } from './connection-limits.ts';

export type WebhookServer = HttpsServer | Http2SecureServer;

export interface SecureServerOptions {
  /** Offer HTTP/2 by ALPN (HTTP/1.1 still accepted); false: HTTP/1.1 only. */
  http2: boolean;
  limits: ConnectionLimits;
  /** Certificate, key, TLS version floor and client authentication. */
  tls: TlsOptions;
}

/** The server for `app`, not yet listening. */
export function createWebhookServer(options: SecureServerOptions, app: RequestListener): WebhookServer {
  const { limits } = options;
  const common = { ...serverOptions(limits), ...options.tls };
  if (!options.http2) return createHttpsServer(common, app);
  const server = createSecureServer(
    {
      ...common,
      allowHTTP1: true,
      // One client may not open thousands of streams on one connection: beyond this the
      // peer must wait or open another connection (Go's transport does the latter), and
      // connections are capped by maxConnections.
      settings: { maxConcurrentStreams: limits.maxConcurrentStreams },
    },
    // Same surface for what the app uses (see the header).
    app as unknown as (req: Http2ServerRequest, res: Http2ServerResponse) => void,
  );
  // A session nobody uses is closed after the keep-alive time, above the apiserver's own
  // idle timeout (so it is the one to close); HTTP/1.1 sockets get the same inactivity limit.
  server.setTimeout(limits.keepAliveTimeoutMs);
  trackSockets(server);
  server.on('stream', (stream) => cutSlowStream(stream, limits.requestTimeoutMs));
  return server;
}

export function isHttp2Server(server: WebhookServer): server is Http2SecureServer {
  return !('closeAllConnections' in server);
}

/**
 * node:http's requestTimeout, per stream: a request whose body has not all arrived within
 * the time is reset (RST_STREAM CANCEL), the session and its other streams go on. The
 * session's first request is timed by connection-limits.ts, its idle time by setTimeout.
 */
function cutSlowStream(stream: ServerHttp2Stream, requestTimeoutMs: number): void {
  const timer = setTimeout(() => {
    if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
  }, requestTimeoutMs);
  timer.unref();
  const received = () => clearTimeout(timer);
  // 'end' once the body has been read whole, 'close' when the stream is gone either way.
  stream.once('end', received);
  stream.once('close', received);
}

interface Open {
  sockets: Set<Socket>;
  sessions: Set<Http2Session>;
}
const OPEN = Symbol('bulwark.open');
type Tracked = Http2SecureServer & { [OPEN]?: Open };

/** node:http2's server lists neither its sessions nor its sockets; the drain needs both. */
function trackSockets(server: Tracked): void {
  const open: Open = { sockets: new Set(), sessions: new Set() };
  server[OPEN] = open;
  server.on('secureConnection', (socket: Socket) => {
    open.sockets.add(socket);
    socket.once('close', () => open.sockets.delete(socket));
  });
  server.on('session', (session) => {
    open.sessions.add(session);
    session.once('close', () => open.sessions.delete(session));
  });
}

/** The HTTP/2 sessions open now. */
export function openSessions(server: Http2SecureServer): Http2Session[] {
  return [...((server as Tracked)[OPEN]?.sessions ?? [])];
}

/** Destroys every open connection (HTTP/2 sessions and HTTP/1.1 sockets alike). */
export function closeAllConnections(server: WebhookServer): void {
  if (!isHttp2Server(server)) {
    server.closeAllConnections();
    return;
  }
  for (const socket of (server as Tracked)[OPEN]?.sockets ?? []) socket.destroy();
}
