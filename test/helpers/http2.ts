// Minimal HTTP/2 client for tests, as kube-apiserver speaks to a webhook: one session
// (one TLS connection, ALPN h2) carrying many requests as streams.

import { type ClientHttp2Session, connect, type IncomingHttpHeaders } from 'node:http2';

export interface H2Result {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface H2ConnectOptions {
  ca: string | Buffer;
  /** A client certificate and its key (PEM), for servers that require one. */
  clientCert?: { cert: string | Buffer; key: string | Buffer };
}

/** An HTTP/2 session to `origin` (https://host:port), once its TLS handshake and SETTINGS are done. */
export function h2Connect(origin: string, options: H2ConnectOptions): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(origin, { ca: options.ca, ...(options.clientCert ?? {}) });
    session.once('error', reject);
    // A handshake the server refused late (TLS 1.3: a client certificate it does not accept).
    const closed = () => reject(new Error('the session closed before it started'));
    session.once('close', closed);
    session.once('remoteSettings', () => {
      session.off('error', reject);
      session.off('close', closed);
      session.on('error', () => {}); // later errors surface on the streams
      resolve(session);
    });
  });
}

/** One request on the session; rejects with the stream's error (RST_STREAM, GOAWAY). */
export function h2Request(
  session: ClientHttp2Session,
  options: { method?: string; path: string; body?: string | Buffer; headers?: Record<string, string | number> },
): Promise<H2Result> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': options.method ?? 'GET',
      ':path': options.path,
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    });
    const chunks: Buffer[] = [];
    let headers: IncomingHttpHeaders = {};
    stream.on('response', (h) => (headers = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () =>
      resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks).toString('utf8') }),
    );
    // The reset's code with it: REFUSED_STREAM (7) means never processed, safe to send again.
    stream.on('error', (err) => reject(Object.assign(err, { rstCode: stream.rstCode })));
    // A reset with CANCEL emits no error: the stream just closes (after 'end' when answered).
    stream.on('close', () =>
      reject(Object.assign(new Error(`stream reset (${stream.rstCode})`), { rstCode: stream.rstCode })),
    );
    stream.end(options.body);
  });
}
