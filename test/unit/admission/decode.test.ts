import { describe, expect, it } from 'vitest';
import { decodeReview, parseReview } from '../../../src/admission/decode.ts';
import { BaseError } from '../../../src/errors.ts';
import { loadReview } from '../../helpers/fixtures.ts';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BaseError);
    expect((err as BaseError).code).toBe('REVIEW_MALFORMED');
    return (err as BaseError).problems.map((p) => p.path);
  }
  throw new Error('expected decode to throw');
}

describe('decodeReview', () => {
  it('accepts reviews the apiserver sent', () => {
    const review = loadReview('configmap-apply-changed');
    expect(decodeReview(structuredClone(review))).toEqual(review);
  });

  it('rejects bad JSON with the parser message', () => {
    expect(() => parseReview('{"apiVersion":')).toThrow(/not valid JSON/);
    expect(() => parseReview('{"apiVersion":1e400,')).toThrow(/not valid JSON/);
  });

  it('keeps large integers exact, and a number is not an object even when it is kept raw', () => {
    const text = JSON.stringify(loadReview('configmap-apply-changed'));
    const review = parseReview(text.replace('"data":{', '"data":{"n":9007199254740993,'));
    expect(JSON.stringify(review.request.object)).toContain('"n":9007199254740993');
    expect(problemsOf(() => parseReview(text.replace(/"object":\{/, '"object":1e400,"x":{')))).toContain(
      'request.object',
    );
  });

  it.each([
    ['a JSON array', [], ['']],
    [
      'a wrong apiVersion',
      { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} },
      ['apiVersion'],
    ],
    ['a wrong kind', { apiVersion: 'admission.k8s.io/v1', kind: 'Review' }, ['kind', 'request']],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, ['request']],
  ])('rejects %s', (_name, body, paths) => {
    expect(problemsOf(() => decodeReview(body))).toEqual(expect.arrayContaining(paths));
  });

  it('lists every problem of a request with its path', () => {
    const review = structuredClone(loadReview('configmap-apply-changed')) as unknown as {
      request: Record<string, unknown>;
    };
    delete review.request.uid;
    review.request.operation = 'PATCH';
    review.request.object = 'text';
    delete review.request.userInfo;
    expect(problemsOf(() => decodeReview(review))).toEqual(
      expect.arrayContaining(['request.uid', 'request.operation', 'request.object', 'request.userInfo']),
    );
  });
});
