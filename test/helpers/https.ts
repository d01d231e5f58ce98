// Minimal HTTPS client for tests: trusts a given CA, returns status, headers and body.

import { request, type Agent } from 'node:https';
import type { SecureVersion } from 'node:tls';

export interface HttpsResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** PEM-less fingerprint of the certificate the server presented. */
  peerFingerprint: string;
}

export interface HttpsOptions {
  ca: string | Buffer;
  method?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  maxVersion?: SecureVersion;
  minVersion?: SecureVersion;
  agent?: Agent | false;
  /** The name the certificate must carry, when the URL names an address (SNI and the check). */
  servername?: string;
  /** A client certificate and its key (PEM), for servers that require one. */
  clientCert?: { cert: string | Buffer; key: string | Buffer };
}

export function httpsRequest(url: string, options: HttpsOptions): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        ca: options.ca,
        headers: { 'content-type': 'application/json', ...options.headers },
        agent: options.agent ?? false,
        ...(options.servername ? { servername: options.servername } : {}),
        ...(options.clientCert ?? {}),
        ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
        ...(options.minVersion ? { minVersion: options.minVersion } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        // Read now: with a keep-alive agent the socket goes back to the pool at the end.
        const socket = res.socket as import('node:tls').TLSSocket | null;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            peerFingerprint: socket?.getPeerCertificate?.()?.fingerprint256 ?? '',
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
