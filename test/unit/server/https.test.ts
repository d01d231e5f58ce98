// The webhook over real HTTPS on an ephemeral port: TLS, status codes, uid echo,
// readiness, metrics and certificate rotation.

import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../../src/config/schema.ts';
import { startBulwark, type Running } from '../../../src/main.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { writeGeneratedCertificates, type CertificateFiles } from '../../../src/server/certificate-files.ts';
import { generateCertificates } from '../../../src/server/certificates.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { localServerConfig } from '../../helpers/local-config.ts';
import { httpsRequest } from '../../helpers/https.ts';

let running: Running;
let files: CertificateFiles;
let ca: string;
let url: (path: string) => string;

beforeAll(async () => {
  files = await writeGeneratedCertificates(await mkdtemp(join(tmpdir(), 'bulwark-test-')));
  ca = await readFile(files.caFile, 'utf8');
  running = await startBulwark(localServerConfig(files), createLogger('silent'));
  url = (path) => `https://127.0.0.1:${running.port}${path}`;
});

afterAll(async () => {
  await running?.close();
});

const post = (body: string | Buffer) => httpsRequest(url('/validate'), { ca, method: 'POST', body });

describe('POST /validate over HTTPS', () => {
  it('answers a decoded review with HTTP 200 and the uid echoed', async () => {
    const review = loadReview('configmap-apply-changed');
    const res = await post(JSON.stringify(review));
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: review.request.uid, allowed: false, status: { code: 403 } },
    });
    expect(body.response.status.message).toContain('data.color');
  });

  it('allows an identical reapply', async () => {
    const review = loadReview('configmap-apply-identical');
    const body = JSON.parse((await post(JSON.stringify(review))).body);
    expect(body.response).toMatchObject({ uid: review.request.uid, allowed: true });
  });

  it.each([
    ['bad JSON', '{"apiVersion": "admission.k8s.io/v1",', /not valid JSON/],
    [
      'a wrong apiVersion',
      JSON.stringify({ ...loadReview('configmap-apply-changed'), apiVersion: 'admission.k8s.io/v1beta1' }),
      /apiVersion/,
    ],
    [
      'no uid',
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: { ...loadReview('configmap-apply-changed').request, uid: undefined },
      }),
      /request\.uid/,
    ],
    ['an empty body', '', /not valid JSON/],
  ])('rejects %s with HTTP 400 and a JSON reason', async (_name, body, reason) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    const json = JSON.parse(res.body);
    expect(json.error.code).toBe('REVIEW_MALFORMED');
    expect(json.error.message).toMatch(reason);
  });

  it('rejects an oversized body with HTTP 413', async () => {
    const res = await post(Buffer.alloc(65 * 1024, 'a'));
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('REVIEW_TOO_LARGE');
  });
});

describe('TLS', () => {
  it('refuses TLS 1.1 and accepts TLS 1.2', async () => {
    await expect(httpsRequest(url('/healthz'), { ca, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' })).rejects.toThrow();
    expect((await httpsRequest(url('/healthz'), { ca, maxVersion: 'TLSv1.2' })).status).toBe(200);
  });

  it('reloads a rotated certificate without restarting, and keeps the old one when the new pair is bad', async () => {
    const before = (await httpsRequest(url('/healthz'), { ca })).peerFingerprint;
    await writeFile(files.certFile, 'not a certificate');
    await new Promise((r) => setTimeout(r, 400));
    expect((await httpsRequest(url('/healthz'), { ca })).peerFingerprint).toBe(before);

    const rotated = await generateCertificates();
    await writeFile(files.keyFile, rotated.keyPem);
    await writeFile(files.certFile, rotated.certPem);
    await expect
      .poll(
        async () => {
          try {
            return (await httpsRequest(url('/healthz'), { ca: rotated.caCertPem })).status;
          } catch {
            return 0;
          }
        },
        { timeout: 3000, interval: 100 },
      )
      .toBe(200);
    const after = (await httpsRequest(url('/healthz'), { ca: rotated.caCertPem })).peerFingerprint;
    expect(after).not.toBe(before);
    ca = rotated.caCertPem;
  });
});

describe('health, readiness and metrics', () => {
  it('serves /healthz and /readyz', async () => {
    expect((await httpsRequest(url('/healthz'), { ca })).body).toBe('ok');
    const ready = await httpsRequest(url('/readyz'), { ca });
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ ready: true });
  });

  it('counts requests by rule and decision and records latency', async () => {
    await post(JSON.stringify(loadReview('configmap-apply-changed')));
    const text = (await httpsRequest(url('/metrics'), { ca })).body;
    expect(text).toMatch(
      /bulwark_admission_requests_total\{rule="immutability",decision="deny",operation="UPDATE"\} [1-9]/,
    );
    expect(text).toMatch(/bulwark_admission_duration_seconds_bucket\{le="10",allowed="false"\} [1-9]/);
    expect(text).toMatch(/bulwark_admission_rejected_total\{reason="malformed"\} [1-9]/);
    expect(text).toMatch(/bulwark_admission_rejected_total\{reason="too_large"\} 1/);
  });

  it('answers unknown paths with 404 JSON', async () => {
    const res = await httpsRequest(url('/nope'), { ca });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body).error.code).toBe('NOT_FOUND');
  });
});

describe('a metrics port of its own', () => {
  it('serves /metrics over plain HTTP there, and no longer on the webhook port', async () => {
    const own = await startBulwark(
      {
        ...DEFAULT_CONFIG,
        host: '127.0.0.1',
        port: 0,
        metricsPort: 0,
        cluster: 'none',
        tls: { certFile: files.certFile, keyFile: files.keyFile, reloadIntervalSeconds: 10 },
        logLevel: 'silent',
      },
      createLogger('silent'),
    );
    try {
      const scraped = await fetch(`http://127.0.0.1:${own.metricsPort}/metrics`);
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('# TYPE bulwark_admission_reviews_total counter');
      const validate = await fetch(`http://127.0.0.1:${own.metricsPort}/validate`, { method: 'POST', body: '{}' });
      expect(validate.status).toBe(404);
      // The probes' endpoints too: kubelet probes use this port when the HTTPS one wants client certificates.
      expect((await fetch(`http://127.0.0.1:${own.metricsPort}/healthz`)).status).toBe(200);
      const ready = await fetch(`http://127.0.0.1:${own.metricsPort}/readyz`);
      expect([200, 503]).toContain(ready.status);
      expect(await ready.json()).toHaveProperty('ready');
      const webhook = await httpsRequest(`https://127.0.0.1:${own.port}/metrics`, { ca });
      expect(webhook.status).toBe(404);
    } finally {
      await own.close();
    }
  });
});
