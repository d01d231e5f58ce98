// Encode: a verdict becomes the AdmissionReview response the apiserver expects.
// Denials are 403 Forbidden with every reason joined, or the status of their error code
// (503 with a retry hint while policies are not read, 500 when Bulwark could not decide);
// warnings and audit annotations travel on allow and deny alike.

import type { Verdict } from '../decision/verdict.ts';
import { ERRORS } from '../errors.ts';
import {
  ADMISSION_API_VERSION,
  type AdmissionResponse,
  type AdmissionReviewResponse,
  type AdmissionStatus,
} from '../admission/types.ts';

/** The apiserver truncates longer warnings; keep each readable in one terminal line or two. */
const MAX_WARNING_LENGTH = 512;
/** Audit annotation values are stored per event; keep them bounded. */
const MAX_ANNOTATION_LENGTH = 1024;

/** The apiserver's reason (metav1.StatusReason) for the statuses a denial can carry. */
const REASONS: Readonly<Record<number, string>> = { 403: 'Forbidden', 500: 'InternalError', 503: 'ServiceUnavailable' };

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function statusOf(verdict: Verdict): AdmissionStatus | undefined {
  if (verdict.allowed) return undefined;
  const message = verdict.reasons.length > 0 ? verdict.reasons.join('; ') : 'denied by bulwark';
  const failure = verdict.failure;
  const code = failure ? ERRORS[failure.code].status : 403;
  const status: AdmissionStatus = { code, reason: REASONS[code] ?? 'InternalError', message };
  if (failure?.retryAfterSeconds !== undefined) status.details = { retryAfterSeconds: failure.retryAfterSeconds };
  return status;
}

function warningsOf(verdict: Verdict): string[] {
  return verdict.warnings.map((w) => truncate(w, MAX_WARNING_LENGTH));
}

function annotationsOf(verdict: Verdict): [string, string][] {
  return Object.entries(verdict.auditAnnotations).map(([k, v]) => [k, truncate(v, MAX_ANNOTATION_LENGTH)]);
}

export function encodeResponse(uid: string, verdict: Verdict): AdmissionReviewResponse {
  const response: AdmissionResponse = { uid, allowed: verdict.allowed };
  const status = statusOf(verdict);
  if (status) response.status = status;
  if (verdict.warnings.length > 0) response.warnings = warningsOf(verdict);
  const annotations = annotationsOf(verdict);
  if (annotations.length > 0) response.auditAnnotations = Object.fromEntries(annotations);
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

const PREFIX = `{"apiVersion":"${ADMISSION_API_VERSION}","kind":"AdmissionReview","response":{"uid":`;

/**
 * `JSON.stringify(encodeResponse(uid, verdict))`, written as text without the object in
 * between: what the server sends on every review. Each string goes through
 * JSON.stringify, so escaping (quotes, backslashes, control characters, lone surrogates)
 * is JSON.stringify's own; members come in the same order.
 */
export function encodeResponseText(uid: string, verdict: Verdict): string {
  let text = `${PREFIX}${JSON.stringify(uid)},"allowed":${verdict.allowed}`;
  const status = statusOf(verdict);
  if (status) text += `,"status":${JSON.stringify(status)}`;
  if (verdict.warnings.length > 0) text += `,"warnings":${JSON.stringify(warningsOf(verdict))}`;
  let separator = ',"auditAnnotations":{';
  for (const [key, value] of annotationsOf(verdict)) {
    text += `${separator}${JSON.stringify(key)}:${JSON.stringify(value)}`;
    separator = ',';
  }
  return separator === ',' ? `${text}}}}` : `${text}}}`;
}
