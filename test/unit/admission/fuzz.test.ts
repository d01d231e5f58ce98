// Garbled reviews through the real HTTP app, seeded and reproducible (FUZZ_SEED,
// FUZZ_RUNS): only 200, 400 or 413; the uid echoed on every 200; a locked object's
// changing UPDATE or DELETE, old labels intact, never allowed; no decision fails
// (the fail-closed internal-error path is for bugs, not for bad input). A captured review
// that is itself allowed (a controller's completion write by its own identity) may stay
// allowed when garbled, but only for that same identity: no other user reaches a carve-out.

import { createServer, type Server, Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReviewDecoder } from '../../../src/admission/decode.ts';
import { mayHoldInexactNumbers } from '../../../src/json/numbers.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';
import { DEFAULT_LOCK_LABEL } from '../../../src/policy/builtin.ts';
import { noClusterFacts } from '../../../src/review/decide.ts';
import { createApp } from '../../../src/server/app.ts';
import { fuzzReviews } from '../../helpers/fuzz-reviews.ts';
import { builtinSnapshot } from '../../helpers/snapshots.ts';
import { loadReview } from '../../helpers/fixtures.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261129);
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const MAX_BODY = 256 * 1024;

const errors: string[] = [];
const metrics = createMetrics({ collectDefaults: false });
let server: Server;
let port: number;
const agent = new Agent({ keepAlive: true, maxSockets: 8 });

beforeAll(async () => {
  const app = createApp({
    decideDeps: { snapshot: () => builtinSnapshot(), resolveFacts: noClusterFacts },
    decoder: createReviewDecoder(),
    logger: createLogger('error', { write: (line: string) => void errors.push(line) }),
    metrics,
    readiness: () => ({ ready: true }),
    maxBodyBytes: MAX_BODY,
    maxInFlightBytes: 64 * 1024 * 1024,
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => {
  agent.destroy();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

function post(body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/validate',
        agent,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

type Json = Record<string, any>;

function lockedChange(review: Json | undefined, changed: boolean | undefined): boolean {
  const request = review?.request;
  const labels = request?.oldObject?.metadata?.labels;
  return (
    typeof request === 'object' &&
    request !== null &&
    request.subResource === undefined &&
    (request.operation === 'DELETE' || (request.operation === 'UPDATE' && changed === true)) &&
    typeof labels === 'object' &&
    labels !== null &&
    labels[DEFAULT_LOCK_LABEL.key] === DEFAULT_LOCK_LABEL.value
  );
}

describe(`fuzz: ${RUNS} garbled reviews, seed ${SEED}`, () => {
  it('answers 200, 400 or 413 only, echoes the uid, never allows a locked change, never fails a decision', async () => {
    const failures: string[] = [];
    const counts = { 200: 0, 400: 0, 413: 0, lossless: 0, lockedDenied: 0 };
    const cases = fuzzReviews(SEED, RUNS, MAX_BODY);
    // The identity each allowed captured review was allowed for (its carve-out), by source.
    const allowedFor = new Map<string, string>();
    const carveOut = async (source: string): Promise<string | undefined> => {
      if (!allowedFor.has(source)) {
        const original = loadReview(source) as Json;
        const { text } = await post(JSON.stringify(original));
        allowedFor.set(source, JSON.parse(text).response?.allowed ? original.request.userInfo.username : '');
      }
      return allowedFor.get(source) || undefined;
    };
    let index = 0;
    const worker = async () => {
      for (let next = cases.next(); !next.done; next = cases.next()) {
        const i = index++;
        const c = next.value;
        if (mayHoldInexactNumbers(c.body)) counts.lossless++;
        const { status, text } = await post(c.body);
        const where = `case ${i} (from ${c.source}, seed ${SEED})`;
        if (status !== 200 && status !== 400 && status !== 413) failures.push(`${where}: HTTP ${status} ${text}`);
        if (status in counts) counts[status as 200 | 400 | 413]++;
        if (status !== 200) continue;
        const response = JSON.parse(text).response;
        if (response?.uid !== c.review?.request?.uid) failures.push(`${where}: uid not echoed`);
        if (response?.status?.message?.includes('could not decide'))
          failures.push(`${where}: ${response.status.message}`);
        if (lockedChange(c.review, c.changed)) {
          const sameIdentity = c.review?.request?.userInfo?.username === (await carveOut(c.source));
          if (response.allowed && !sameIdentity) failures.push(`${where}: a locked object's change was allowed`);
          else counts.lockedDenied++;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(failures.slice(0, 20)).toEqual([]);
    expect(errors.filter((l) => l.includes('decision failed'))).toEqual([]);
    expect(await metrics.registry.getSingleMetricAsString('bulwark_admission_rejected_total')).not.toContain(
      'reason="error"',
    );
    // Every kind of answer and path was exercised, not just one.
    expect(counts[200] + counts[400] + counts[413]).toBe(RUNS);
    expect(Math.min(counts[200], counts[400], counts[413], counts.lockedDenied)).toBeGreaterThan(RUNS / 200);
    expect(counts.lossless).toBeGreaterThan(RUNS / 10);
    console.log(`fuzz seed ${SEED}: ${JSON.stringify(counts)}`);
  }, 300_000);
});
