// Encode: a verdict becomes the AdmissionReview response the apiserver expects.
// Denials are 403 Forbidden with every reason joined, or the status of their error code
// (503 with a retry hint while policies are not read, 500 when Bulwark could not decide);
// warnings and audit annotations travel on allow and deny alike.

import type { Verdict } from '../decision/verdict.ts';
import { ERRORS } from '../errors.ts';
import { ADMISSION_API_VERSION, type AdmissionResponse, type AdmissionReviewResponse } from '../admission/types.ts';

/** The apiserver truncates longer warnings; keep each readable in one terminal line or two. */
const MAX_WARNING_LENGTH = 512;
/** Audit annotation values are stored per event; keep them bounded. */
const MAX_ANNOTATION_LENGTH = 1024;

/** The apiserver's reason (metav1.StatusReason) for the statuses a denial can carry. */
const REASONS: Readonly<Record<number, string>> = { 403: 'Forbidden', 500: 'InternalError', 503: 'ServiceUnavailable' };

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function encodeResponse(uid: string, verdict: Verdict): AdmissionReviewResponse {
  const response: AdmissionResponse = { uid, allowed: verdict.allowed };
  if (!verdict.allowed) {
    const message = verdict.reasons.length > 0 ? verdict.reasons.join('; ') : 'denied by bulwark';
    const failure = verdict.failure;
    const code = failure ? ERRORS[failure.code].status : 403;
    response.status = { code, reason: REASONS[code] ?? 'InternalError', message };
    if (failure?.retryAfterSeconds !== undefined)
      response.status.details = { retryAfterSeconds: failure.retryAfterSeconds };
  }
  if (verdict.warnings.length > 0) response.warnings = verdict.warnings.map((w) => truncate(w, MAX_WARNING_LENGTH));
  const annotations = Object.entries(verdict.auditAnnotations);
  if (annotations.length > 0) {
    response.auditAnnotations = Object.fromEntries(
      annotations.map(([k, v]) => [k, truncate(v, MAX_ANNOTATION_LENGTH)]),
    );
  }
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}
