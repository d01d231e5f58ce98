// Captured AdmissionReviews (test/fixtures/reviews, recorded from a real kube-apiserver
// by `npm run capture-fixtures`) and helpers to derive variants from them.

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdmissionReviewRequest } from '../../src/admission/types.ts';
import { parseJson } from '../../src/json/parse.ts';

export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
export const REVIEWS_DIR = join(FIXTURES_DIR, 'reviews');

/** A captured review, read as Bulwark reads request bodies (large integers stay exact). */
export function loadReview(name: string): AdmissionReviewRequest {
  return parseJson(readFileSync(join(REVIEWS_DIR, `${name}.json`), 'utf8')) as AdmissionReviewRequest;
}

export function reviewNames(): string[] {
  return readdirSync(REVIEWS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.replace(/\.json$/, ''))
    .sort();
}
