// Finding 12 in-process: `serve --cluster required` against an apiserver that does not
// answer. /validate answers, but until the policies are synced every review is denied
// with 503 and the reason, never allowed unverified.

import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DEFAULT_CONFIG, type Config } from '../../../src/config/schema.ts';
import { startBulwark, type Running } from '../../../src/main.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { writeGeneratedCertificates } from '../../../src/server/certificate-files.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { httpsRequest } from '../../helpers/https.ts';

let running: Running;
let ca: string;
let base: string;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-unsynced-'));
  const files = await writeGeneratedCertificates(dir);
  ca = await readFile(files.caFile, 'utf8');
  const kubeconfig = join(dir, 'kubeconfig');
  // Port 1 on loopback: nothing answers, every list fails.
  await writeFile(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'x',
      clusters: [{ name: 'x', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'x', user: { token: 'none' } }],
      contexts: [{ name: 'x', context: { cluster: 'x', user: 'x' } }],
    }),
  );
  const config: Config = {
    ...DEFAULT_CONFIG,
    host: '127.0.0.1',
    port: 0,
    cluster: 'required',
    kubeconfig,
    logLevel: 'silent',
    tls: { certFile: files.certFile, keyFile: files.keyFile, reloadIntervalSeconds: 10 },
  };
  running = await startBulwark(config, createLogger('silent'));
  base = `https://127.0.0.1:${running.port}`;
});

afterAll(async () => {
  await running?.close();
});

const post = async (name: string) =>
  JSON.parse(
    (await httpsRequest(`${base}/validate`, { ca, method: 'POST', body: JSON.stringify(loadReview(name)) })).body,
  ).response;

describe('before the policies are synced', () => {
  it('is not ready', async () => {
    const res = await httpsRequest(`${base}/readyz`, { ca });
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body).reason).toContain(
      'not yet synced: ImmutabilityPolicy, ImagePolicy, Namespace, UnlockRequest, LocalUnlockRequest, attestation-keys',
    );
  });

  it.each(['pod-create', 'deployment-create', 'configmap-create-labelled'])(
    'denies %s with 503 Service Unavailable and a retry hint',
    async (name) => {
      const response = await post(name);
      expect(response).toMatchObject({
        allowed: false,
        status: {
          code: 503,
          reason: 'ServiceUnavailable',
          message:
            'bulwark is starting: policies not yet synced (pending: ImmutabilityPolicy, ImagePolicy, Namespace, ' +
            'UnlockRequest, LocalUnlockRequest, attestation-keys); retry in a few seconds',
          details: { retryAfterSeconds: 2 },
        },
        auditAnnotations: { decision: 'deny' },
      });
    },
  );

  it('decides once every source has synced, and refuses again when one must re-sync', async () => {
    for (const source of running.store.pending()) running.store.markSynced(source);
    expect((await post('deployment-create')).allowed).toBe(true);
    // A locked pod would be admitted only once its namespace's mark is known gone: the
    // apiserver does not answer here, so it is denied (fail closed).
    const locked = await post('pod-create');
    expect(locked.allowed).toBe(false);
    expect(locked.status.message).toContain('cannot record that namespace demo now holds an object labelled');
    expect((await post('configmap-apply-changed')).status.code).toBe(403);
    // What the informers do once a broken watch has outlasted the resync grace.
    running.store.markUnsynced('ImagePolicy');
    const response = await post('pod-create');
    expect(response.allowed).toBe(false);
    expect(response.status).toMatchObject({ code: 503, details: { retryAfterSeconds: 2 } });
    expect(response.status.message).toBe(
      'bulwark lost its watch on ImagePolicy and has not re-synced; it refuses every request until it has; ' +
        'retry in a few seconds',
    );
  });
});
