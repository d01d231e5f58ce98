// Encode: a verdict becomes the AdmissionReview response the apiserver expects.
// Denials are 403 Forbidden with every reason joined (503 Service Unavailable with a
// retry hint when the verdict is "not now"); warnings and audit annotations travel on
// allow and deny alike.

import type { Verdict } from '../decision/verdict.ts';
import { ADMISSION_API_VERSION, type AdmissionResponse, type AdmissionReviewResponse } from '../admission/types.ts';

/** The apiserver truncates longer warnings; keep each readable in one terminal line or two. */
const MAX_WARNING_LENGTH = 512;
/** Audit annotation values are stored per event; keep them bounded. */
const MAX_ANNOTATION_LENGTH = 1024;

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function encodeResponse(uid: string, verdict: Verdict): AdmissionReviewResponse {
  const response: AdmissionResponse = { uid, allowed: verdict.allowed };
  if (!verdict.allowed) {
    const message = verdict.reasons.length > 0 ? verdict.reasons.join('; ') : 'denied by bulwark';
    response.status = verdict.unavailable
      ? { code: 503, reason: 'ServiceUnavailable', message, details: { retryAfterSeconds: verdict.unavailable.retryAfterSeconds } }
      : { code: 403, reason: 'Forbidden', message };
  }
  if (verdict.warnings.length > 0) response.warnings = verdict.warnings.map((w) => truncate(w, MAX_WARNING_LENGTH));
  const annotations = Object.entries(verdict.auditAnnotations);
  if (annotations.length > 0) {
    response.auditAnnotations = Object.fromEntries(annotations.map(([k, v]) => [k, truncate(v, MAX_ANNOTATION_LENGTH)]));
  }
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}
