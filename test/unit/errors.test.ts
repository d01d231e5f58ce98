// The error registry: every code carries an HTTP status and a description, and an error
// answers with its code's status, whatever its message says.
import { describe, expect, it } from 'vitest';
import { BaseError, ERRORS, formatProblems, isBulwarkError, type ErrorCode } from '../../src/errors.ts';

describe('error registry', () => {
  it('gives every code an error status and a description', () => {
    for (const [code, spec] of Object.entries(ERRORS)) {
      expect(code).toMatch(/^[A-Z][A-Z_]+$/);
      expect(spec.status, code).toBeGreaterThanOrEqual(400);
      expect(spec.status, code).toBeLessThan(600);
      expect(spec.message.length, code).toBeGreaterThan(10);
    }
  });

  it('answers with the status of its code, and the description when no message is given', () => {
    const cases: [ErrorCode, number][] = [
      ['REVIEW_MALFORMED', 400],
      ['REVIEW_TOO_LARGE', 413],
      ['NOT_FOUND', 404],
      ['NOT_SYNCED', 503],
      ['DECISION_FAILED', 500],
    ];
    for (const [code, status] of cases) {
      const error = new BaseError(code);
      expect(error.status).toBe(status);
      expect(error.message).toBe(ERRORS[code].message);
    }
  });

  it('keeps the cause, the problems and what a remote server answered', () => {
    const cause = new Error('socket hang up');
    const error = new BaseError('KUBE_API_ERROR', 'GET /api: HTTP 429', {
      cause,
      upstream: { status: 429, retryAfterSeconds: 1 },
      problems: [{ path: 'a', message: 'b' }],
    });
    expect(error.cause).toBe(cause);
    expect(error.upstream).toEqual({ status: 429, retryAfterSeconds: 1 });
    expect(isBulwarkError(error, 'KUBE_API_ERROR')).toBe(true);
    expect(isBulwarkError(error, 'KUBE_API_UNREACHABLE')).toBe(false);
    expect(isBulwarkError(cause)).toBe(false);
    expect(formatProblems([...error.problems, { path: '', message: 'c' }])).toBe('a: b; c');
  });
});
