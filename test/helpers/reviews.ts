// Variants of captured reviews for table-driven tests: same shape as the apiserver's,
// with one thing changed.

import type { AdmissionReviewRequest, KubeObject } from '../../src/admission/types.ts';
import { cloneJson } from '../../src/json/clone.ts';
import { loadReview } from './fixtures.ts';

export function variant(name: string, edit: (review: AdmissionReviewRequest) => void): AdmissionReviewRequest {
  const review = cloneJson(loadReview(name));
  edit(review);
  return review;
}

export function objectOf(review: AdmissionReviewRequest): KubeObject {
  const obj = review.request.object;
  if (!obj) throw new Error('review has no object');
  return obj;
}

export function oldObjectOf(review: AdmissionReviewRequest): KubeObject {
  const obj = review.request.oldObject;
  if (!obj) throw new Error('review has no oldObject');
  return obj;
}

/** Makes the new object equal to the old one except for what `edit` changes. */
export function editedUpdate(name: string, edit: (object: KubeObject) => void): AdmissionReviewRequest {
  return variant(name, (r) => {
    r.request.object = cloneJson(oldObjectOf(r));
    edit(objectOf(r));
  });
}
