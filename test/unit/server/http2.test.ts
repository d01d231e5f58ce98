// The webhook over HTTP/2, as kube-apiserver (a Go client offering `h2,http/1.1`) calls it:
// ALPN picks h2, reviews go as streams of one session, and every route, the body limit,
// the stream cap, client certificates and certificate rotation hold as over HTTP/1.1
// (https.test.ts drives the default server, HTTP/1.1 alone, with HTTP/1.1 clients). With
// --http2=false, the default, the server offers HTTP/1.1 alone.

import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { type ClientHttp2Session, connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type Config } from '../../../src/config/schema.ts';
import { startBulwark, type Running } from '../../../src/main.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { writeGeneratedCertificates, type CertificateFiles } from '../../../src/server/certificate-files.ts';
import { generateCertificates } from '../../../src/server/certificates.ts';
import { DEFAULT_CONNECTION_LIMITS } from '../../../src/server/connection-limits.ts';
import { writeClientCert } from '../../../harness/node/client-cert.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { localServerConfig } from '../../helpers/local-config.ts';
import { httpsRequest } from '../../helpers/https.ts';
import { h2Connect, h2Request } from '../../helpers/http2.ts';

let files: CertificateFiles;
let ca: string;
let running: Running;
let origin: string;
let session: ClientHttp2Session;

const configFor = (overrides: Partial<Config> = {}): Config => localServerConfig(files, { http2: true, ...overrides });

/** The protocol a client offering what the apiserver offers ends up with (false: no ALPN answer). */
function negotiated(port: number, trust: string): Promise<string | false> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: trust, ALPNProtocols: ['h2', 'http/1.1'] });
    socket.once('secureConnect', () => {
      resolve(socket.alpnProtocol ?? false);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

beforeAll(async () => {
  files = await writeGeneratedCertificates(await mkdtemp(join(tmpdir(), 'bulwark-test-')));
  ca = await readFile(files.caFile, 'utf8');
  running = await startBulwark(configFor(), createLogger('silent'));
  origin = `https://127.0.0.1:${running.port}`;
  session = await h2Connect(origin, { ca });
});

afterAll(async () => {
  session?.close();
  await running?.close();
});

const review = (name: string) => JSON.stringify(loadReview(name));
const post = (body: string | Buffer, on = session) => h2Request(on, { method: 'POST', path: '/validate', body });

describe('with --http2=true', () => {
  it('takes h2 when a client offers h2 and http/1.1, as kube-apiserver does', async () => {
    expect(await negotiated(running.port, ca)).toBe('h2');
  });

  it('decides reviews sent as concurrent streams of one session, each uid echoed', async () => {
    const names = ['configmap-apply-changed', 'configmap-apply-identical'];
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => post(review(names[i % 2]!))));
    answers.forEach((res, i) => {
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json');
      const expected = loadReview(names[i % 2]!);
      expect(JSON.parse(res.body).response).toMatchObject({ uid: expected.request.uid, allowed: i % 2 === 1 });
    });
  });

  it('rejects a malformed review with HTTP 400 and a JSON reason', async () => {
    const res = await post('{"apiVersion": "admission.k8s.io/v1",');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error.code).toBe('REVIEW_MALFORMED');
  });

  it('rejects an oversized body with HTTP 413, declared or not, and the session goes on', async () => {
    const declared = await h2Request(session, {
      method: 'POST',
      path: '/validate',
      body: Buffer.alloc(65 * 1024, 'a'),
      headers: { 'content-length': 65 * 1024 },
    });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body).error.code).toBe('REVIEW_TOO_LARGE');
    // No content-length: HTTP/2 frames the body itself, the limit counts what arrives.
    const streamed = await post(Buffer.alloc(1024 * 1024, 'a'));
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body).error.code).toBe('REVIEW_TOO_LARGE');
    expect((await post(review('configmap-apply-identical'))).status).toBe(200);
    expect(session.closed || session.destroyed).toBe(false);
  });

  it('serves /healthz, /readyz, /metrics and a JSON 404', async () => {
    expect((await h2Request(session, { path: '/healthz' })).body).toBe('ok');
    const ready = await h2Request(session, { path: '/readyz' });
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ ready: true });
    const missing = await h2Request(session, { path: '/nope' });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body).error.code).toBe('NOT_FOUND');
    const metrics = await h2Request(session, { path: '/metrics' });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/bulwark_admission_rejected_total\{reason="too_large"\} 2/);
  });

  it('counts requests by protocol', async () => {
    await httpsRequest(`${origin}/healthz`, { ca });
    const text = (await h2Request(session, { path: '/metrics' })).body;
    expect(Number(/^bulwark_http_requests_total\{protocol="h2"\} (\d+)/m.exec(text)?.[1])).toBeGreaterThan(20);
    expect(text).toMatch(/^bulwark_http_requests_total\{protocol="http\/1\.1"\} [1-9]/m);
  });

  it('lets one session have 100 streams in flight at most', () => {
    expect(session.remoteSettings.maxConcurrentStreams).toBe(DEFAULT_CONNECTION_LIMITS.maxConcurrentStreams);
    expect(DEFAULT_CONNECTION_LIMITS.maxConcurrentStreams).toBe(100);
  });

  it('serves a rotated certificate to new sessions, still over h2', async () => {
    const rotated = await generateCertificates();
    await writeFile(files.keyFile, rotated.keyPem);
    await writeFile(files.certFile, rotated.certPem);
    await expect
      .poll(() => negotiated(running.port, rotated.caCertPem).catch(() => 'untrusted'), {
        timeout: 3000,
        interval: 100,
      })
      .toBe('h2');
    const fresh = await h2Connect(origin, { ca: rotated.caCertPem });
    expect((await post(review('configmap-apply-identical'), fresh)).status).toBe(200);
    fresh.close();
    ca = rotated.caCertPem;
  });
});

describe('client certificates over HTTP/2', () => {
  it('answers a client with a certificate of the client CA and refuses one without', async () => {
    const client = await writeClientCert(await mkdtemp(join(tmpdir(), 'bulwark-client-ca-')), 'h2', 'CN=h2-client');
    const mtls = await startBulwark(
      configFor({ tls: { ...configFor().tls, clientCaFile: client.caFile } }),
      createLogger('silent'),
    );
    try {
      const at = `https://127.0.0.1:${mtls.port}`;
      // TLS 1.3: the refusal (alert 116, certificate required) reaches the client's first stream.
      const anonymous = connect(at, { ca });
      anonymous.on('error', () => {});
      await expect(h2Request(anonymous, { path: '/healthz' })).rejects.toThrow(/certificate required/);
      anonymous.destroy();
      const clientCert = { cert: await readFile(client.certFile), key: await readFile(client.keyFile) };
      const authed = await h2Connect(at, { ca, clientCert });
      expect((await post(review('configmap-apply-identical'), authed)).status).toBe(200);
      authed.close();
    } finally {
      await mtls.close();
    }
  });
});

describe('the default, --http2=false', () => {
  it('offers HTTP/1.1 alone and serves it as before', async () => {
    const h1 = await startBulwark(configFor({ http2: DEFAULT_CONFIG.http2 }), createLogger('silent'));
    try {
      expect(await negotiated(h1.port, ca)).not.toBe('h2');
      const res = await httpsRequest(`https://127.0.0.1:${h1.port}/validate`, {
        ca,
        method: 'POST',
        body: review('configmap-apply-identical'),
      });
      expect(res.status).toBe(200);
      const text = (await httpsRequest(`https://127.0.0.1:${h1.port}/metrics`, { ca })).body;
      expect(text).toMatch(/^bulwark_http_requests_total\{protocol="http\/1\.1"\} 2$/m);
      expect(text).not.toMatch(/^bulwark_http_requests_total\{protocol="h2"\}/m);
    } finally {
      await h1.close();
    }
  });
});
