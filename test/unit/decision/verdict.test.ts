import { describe, expect, it } from 'vitest';
import { encodeResponse } from '../../../src/review/encode.ts';
import { allow, combine, deny, enforce } from '../../../src/decision/verdict.ts';

describe('verdicts', () => {
  it('any deny wins and every reason is kept', () => {
    const v = combine([allow('a'), deny('b', 'first'), deny('c', 'second')]);
    expect(v.allowed).toBe(false);
    expect(v.reasons).toEqual(['first', 'second']);
  });

  it('Warn allows with a warning, Audit allows with an audit annotation only', () => {
    const warn = enforce('r', 'would deny', 'Warn');
    expect(warn).toMatchObject({ allowed: true, warnings: ['would deny'] });
    const audit = enforce('r', 'would deny', 'Audit');
    expect(audit.allowed).toBe(true);
    expect(audit.warnings).toEqual([]);
    expect(audit.auditAnnotations['r-audit']).toBe('would deny');
  });

  it('encodes a denial as 403 Forbidden with the uid echoed and reasons joined', () => {
    const review = encodeResponse('uid-1', combine([deny('a', 'one'), deny('b', 'two')]));
    expect(review).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'uid-1', allowed: false, status: { code: 403, reason: 'Forbidden', message: 'one; two' } },
    });
  });

  it('encodes warnings and annotations on allow, bounded in length', () => {
    const v = enforce('r', 'x'.repeat(2000), 'Warn');
    const { response } = encodeResponse('u', v);
    expect(response.allowed).toBe(true);
    expect(response.status).toBeUndefined();
    expect(response.warnings?.[0]?.length).toBeLessThanOrEqual(512);
    expect(response.auditAnnotations?.['r-warn']?.length).toBeLessThanOrEqual(1024);
  });
});
