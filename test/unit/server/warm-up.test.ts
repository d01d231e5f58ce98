// The start-up warm-up (src/server/warm-up.ts): its synthetic reviews are real reviews,
// decided as their names say; it answers them through a loopback server of its own over
// HTTP/1.1 and HTTP/2; and it leaves no trace in the webhook's logs or metrics.

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReviewDecoder } from '../../../src/admission/decode.ts';
import { defaultPolicyOf, policyAdminsOf } from '../../../src/config/default-policy.ts';
import { DEFAULT_CONFIG } from '../../../src/config/schema.ts';
import { startBulwark } from '../../../src/main.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createPolicyCompiler } from '../../../src/policy/compiler.ts';
import { PolicyStore } from '../../../src/policy/store.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import { writeGeneratedCertificates, type CertificateFiles } from '../../../src/server/certificate-files.ts';
import { DEFAULT_CONNECTION_LIMITS } from '../../../src/server/connection-limits.ts';
import { warmUp, warmUpReviews } from '../../../src/server/warm-up.ts';
import { localServerConfig } from '../../helpers/local-config.ts';
import { readFileSync } from 'node:fs';

let files: CertificateFiles;

beforeAll(async () => {
  files = await writeGeneratedCertificates(await mkdtemp(join(tmpdir(), 'bulwark-warm-')));
});

function verdictsOf(lockLabel: { key: string; value: string }) {
  const config = { ...DEFAULT_CONFIG, lockLabel };
  const store = new PolicyStore({
    compiler: createPolicyCompiler(),
    defaultImmutability: defaultPolicyOf(config),
    policyAdmins: policyAdminsOf(config),
    sources: [],
    lockLabel,
  });
  const decoder = createReviewDecoder();
  return warmUpReviews(lockLabel).map((body) => {
    const { request } = decoder.parse(body);
    return {
      what: `${request.operation} ${request.kind.kind} ${request.name}`,
      ...reviewRequest({ request, snapshot: store.snapshot() }),
    };
  });
}

describe('the synthetic reviews', () => {
  it('decode as AdmissionReviews and are decided as a webhook is asked most: locked denied, the rest allowed', () => {
    const verdicts = verdictsOf(DEFAULT_CONFIG.lockLabel);
    expect(verdicts.map((v) => [v.what, v.allowed])).toEqual([
      ['UPDATE ConfigMap settings', false],
      ['UPDATE ConfigMap settings', true],
      ['UPDATE ConfigMap scratch', true],
      ['DELETE ConfigMap settings', false],
      ['UPDATE Deployment web', false],
    ]);
    expect(verdicts[0]!.reasons.join(' ')).toContain('data.color');
    expect(verdicts[4]!.reasons.join(' ')).toContain('spec.replicas');
  });
});

const okApp = (_req: unknown, res: { statusCode: number; end(body: string): void }) => {
  res.statusCode = 200;
  res.end('{}');
};

function serverOptions(http2: boolean) {
  return {
    http2,
    limits: { ...DEFAULT_CONNECTION_LIMITS, maxConnections: 10 },
    tls: { cert: readFileSync(files.certFile, 'utf8'), key: readFileSync(files.keyFile, 'utf8') },
  };
}

const warmWith = (app: unknown, http2: boolean, rounds: number) =>
  warmUp({ app: app as never, server: serverOptions(http2), lockLabel: DEFAULT_CONFIG.lockLabel, rounds });

describe('warmUp', () => {
  it.each([false, true])('answers every synthetic review of every round (HTTP/2: %s)', async (http2) => {
    expect(await warmWith(okApp, http2, 3)).toBe(15);
  });

  it('fails when a synthetic review is not answered with HTTP 200 (start-up then goes on, cold)', async () => {
    const failing = (_req: unknown, res: { statusCode: number; end(): void }) => {
      res.statusCode = 500;
      res.end();
    };
    await expect(warmWith(failing, false, 1)).rejects.toThrow(/HTTP 500/);
  });

  it('does nothing with 0 rounds', async () => {
    expect(await warmWith(okApp, false, 0)).toBe(0);
  });
});

describe('a webhook that warmed up', () => {
  const lines: Record<string, unknown>[] = [];
  let running: Awaited<ReturnType<typeof startBulwark>>;

  beforeAll(async () => {
    const capture = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    running = await startBulwark(
      localServerConfig(files, { warmUpRounds: 4, logLevel: 'debug' }),
      createLogger('debug', capture),
    );
  });

  afterAll(async () => {
    await running?.close();
  });

  it('says so once, and logged none of the synthetic decisions', () => {
    expect(lines.filter((l) => String(l.msg).includes('synthetic reviews'))).toEqual([
      expect.objectContaining({ reviews: 20, msg: expect.stringContaining('answered 20 synthetic reviews') }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('bulwark-warm-up');
  });

  it('counted none of them in its metrics', async () => {
    const text = await running.metrics.registry.metrics();
    expect(text).not.toMatch(/^bulwark_admission_reviews_total\{.*\} [1-9]/m);
    expect(text).not.toMatch(/^bulwark_admission_requests_total\{.*\} [1-9]/m);
    expect(text).not.toMatch(/^bulwark_http_requests_total\{.*\} [1-9]/m);
  });
});
