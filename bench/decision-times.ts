// The decision core alone (decode, decide, encode; no HTTP), with 1 and 1,000 policies
// in the snapshot: isolates what the policy count costs from network noise.

import { createReviewDecoder } from '../src/admission/decode.ts';
import { encodeResponse } from '../src/review/encode.ts';
import { reviewRequest } from '../src/review/review.ts';
import { createPolicyCompiler } from '../src/policy/compiler.ts';
import { PolicyStore } from '../src/policy/store.ts';
import { policySet } from './policies.ts';

export async function decisionTimes(body: Buffer, iterations = 20_000): Promise<string[]> {
  const lines: string[] = [];
  const compiler = createPolicyCompiler();
  const { parse: parseReview } = createReviewDecoder();
  for (const count of [0, 1, 1000]) {
    const store = new PolicyStore({ compiler, sources: [] });
    policySet(count).forEach((p, i) => {
      store.upsert('ImmutabilityPolicy', {
        ...p,
        metadata: { ...(p.metadata as object), uid: `u${i}`, resourceVersion: '1' },
      });
    });
    const snapshot = store.snapshot();
    const once = () => {
      const review = parseReview(body);
      return JSON.stringify(
        encodeResponse(
          review.request.uid,
          reviewRequest({ request: review.request, snapshot, facts: { namespaceLabels: {} } }),
        ),
      );
    };
    for (let i = 0; i < 2000; i++) once();
    const times = new Float64Array(iterations);
    for (let i = 0; i < iterations; i++) {
      const t = process.hrtime.bigint();
      once();
      times[i] = Number(process.hrtime.bigint() - t) / 1000;
    }
    times.sort();
    lines.push(
      `   decision core, ${String(count).padStart(4)} policies: p50 ${times[iterations >> 1]!.toFixed(1)} us, ` +
        `p99 ${times[Math.floor(iterations * 0.99)]!.toFixed(1)} us`,
    );
  }
  return lines;
}
