// Decode: untrusted JSON in, a typed AdmissionRequest out, or a BaseError that lists
// every problem with its path. Validation is by hand rather than with a JSON Schema
// because it runs on every request and only checks the handful of fields we rely on.

import { BaseError, formatProblems, type FieldProblem } from '../errors.ts';
import { isRawNumber } from '../json/numbers.ts';
import { parseJson } from '../json/parse.ts';
import { ADMISSION_API_VERSION, type AdmissionReviewRequest } from './types.ts';

const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isRawNumber(value);
}

function checkString(
  obj: Record<string, unknown>,
  key: string,
  path: string,
  problems: FieldProblem[],
  required = true,
): void {
  const value = obj[key];
  if (value === undefined && !required) return;
  if (typeof value !== 'string' || (required && value === '')) {
    problems.push({
      path: `${path}.${key}`,
      message: value === undefined ? 'is required' : 'must be a non-empty string',
    });
  }
}

function checkGroupVersion(
  obj: Record<string, unknown>,
  key: string,
  last: 'kind' | 'resource',
  path: string,
  problems: FieldProblem[],
): void {
  const value = obj[key];
  if (!isRecord(value)) {
    problems.push({ path: `${path}.${key}`, message: 'is required and must be an object' });
    return;
  }
  if (typeof value.group !== 'string') problems.push({ path: `${path}.${key}.group`, message: 'must be a string' });
  checkString(value, 'version', `${path}.${key}`, problems);
  checkString(value, last, `${path}.${key}`, problems);
}

function checkObject(obj: Record<string, unknown>, key: string, path: string, problems: FieldProblem[]): void {
  const value = obj[key];
  if (value === undefined || value === null) return;
  if (!isRecord(value)) problems.push({ path: `${path}.${key}`, message: 'must be an object or null' });
  else if (value.metadata !== undefined && !isRecord(value.metadata)) {
    problems.push({ path: `${path}.${key}.metadata`, message: 'must be an object' });
  }
}

/** Collects every problem of a would-be AdmissionReview; empty means it is well-formed. */
export function findReviewProblems(body: unknown): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (!isRecord(body)) return [{ path: '', message: 'body must be a JSON object' }];
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    problems.push({
      path: 'apiVersion',
      message: `must be "${ADMISSION_API_VERSION}", got ${JSON.stringify(body.apiVersion ?? null)}`,
    });
  }
  if (body.kind !== 'AdmissionReview') {
    problems.push({ path: 'kind', message: `must be "AdmissionReview", got ${JSON.stringify(body.kind ?? null)}` });
  }
  const request = body.request;
  if (!isRecord(request)) {
    problems.push({ path: 'request', message: 'is required and must be an object' });
    return problems;
  }
  checkString(request, 'uid', 'request', problems);
  if (typeof request.operation !== 'string' || !OPERATIONS.has(request.operation)) {
    problems.push({ path: 'request.operation', message: 'must be one of CREATE, UPDATE, DELETE, CONNECT' });
  }
  checkGroupVersion(request, 'kind', 'kind', 'request', problems);
  checkGroupVersion(request, 'resource', 'resource', 'request', problems);
  checkString(request, 'subResource', 'request', problems, false);
  checkString(request, 'name', 'request', problems, false);
  checkString(request, 'namespace', 'request', problems, false);
  if (!isRecord(request.userInfo))
    problems.push({ path: 'request.userInfo', message: 'is required and must be an object' });
  checkObject(request, 'object', 'request', problems);
  checkObject(request, 'oldObject', 'request', problems);
  if (request.dryRun !== undefined && typeof request.dryRun !== 'boolean') {
    problems.push({ path: 'request.dryRun', message: 'must be a boolean' });
  }
  return problems;
}

/** Validates a parsed body; throws REVIEW_MALFORMED listing every problem. */
export function decodeReview(body: unknown): AdmissionReviewRequest {
  const problems = findReviewProblems(body);
  if (problems.length > 0) {
    throw new BaseError('REVIEW_MALFORMED', `not an admission.k8s.io/v1 AdmissionReview: ${formatProblems(problems)}`, {
      problems,
    });
  }
  return body as AdmissionReviewRequest;
}

/**
 * Parses and validates a raw body (string or bytes). Numbers a double cannot hold
 * exactly stay exact (raw number leaves, see json/numbers.ts), so that a change from
 * 9007199254740993 to 9007199254740992 is a change.
 */
export function parseReview(raw: string | Buffer): AdmissionReviewRequest {
  let body: unknown;
  try {
    body = parseJson(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (err) {
    throw new BaseError('REVIEW_MALFORMED', `body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return decodeReview(body);
}
