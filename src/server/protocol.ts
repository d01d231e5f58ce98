// What differs between the two protocols a request may come by (secure-server.ts), for
// the few places that care. HTTP/2 forbids connection-level headers in a response (Node
// drops `Connection: close` there with a process warning), and has no need of one: an
// answer sent before the body was read ends its stream alone (RST_STREAM NO_ERROR), the
// connection's other streams going on.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { HttpProtocol } from '../observability/metrics.ts';

export function isHttp2Request(req: IncomingMessage | Http2ServerRequest): req is Http2ServerRequest {
  return req.httpVersionMajor === 2;
}

/** The protocol's name as ALPN spells it, for the request metric. */
export function protocolOf(req: IncomingMessage | Http2ServerRequest): HttpProtocol {
  return req.httpVersionMajor === 2 ? 'h2' : req.httpVersionMinor === 0 ? 'http/1.0' : 'http/1.1';
}

/** HTTP/1.1: the connection closes after this answer (its unread body is never received). */
export function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  if (!isHttp2Request(req)) res.setHeader('connection', 'close');
}
