import { describe, expect, it } from 'vitest';
import { createReviewDecoder } from '../../../src/admission/decode.ts';
import { BaseError } from '../../../src/errors.ts';
import { loadReview } from '../../helpers/fixtures.ts';

const { decode: decodeReview, parse: parseReview } = createReviewDecoder();

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

describe('the review schema', () => {
  const review = () => JSON.parse(JSON.stringify(loadReview('configmap-apply-changed'))) as Record<string, any>;

  it('refuses the wrongly typed fields garbled reviews carried, naming every path', () => {
    const body = review();
    body.request.object.metadata.annotations = true;
    body.request.oldObject.metadata.labels = 'app=shop';
    body.request.userInfo.groups = 'system:masters';
    body.request.object.apiVersion = 1;
    body.request.oldObject.metadata.finalizers = [1];
    body.request.object.metadata.ownerReferences = [{ uid: 7 }];
    expect(problemsOf(() => decodeReview(body)).sort()).toEqual([
      'request.object.apiVersion',
      'request.object.metadata.annotations',
      'request.object.metadata.ownerReferences[0].uid',
      'request.oldObject.metadata.finalizers[0]',
      'request.oldObject.metadata.labels',
      'request.userInfo.groups',
    ]);
  });

  it('names label keys with dots and slashes exactly', () => {
    const body = review();
    body.request.object.metadata.labels['bulwark.dev/immutable'] = true;
    expect(problemsOf(() => decodeReview(body))).toEqual(['request.object.metadata.labels["bulwark.dev/immutable"]']);
  });

  it('keeps unknown fields allowed, at the top and inside the request and objects', () => {
    const body = review();
    body.future = { x: 1 };
    body.request.newField = [1, 2];
    body.request.object.metadata.newMeta = 3;
    body.request.object.spec = { anything: true };
    expect(decodeReview(body).request.uid).toBe(body.request.uid);
  });

  it('is not fooled by a number too exact for a double where an object or a string belongs', () => {
    const text = JSON.stringify(loadReview('configmap-apply-changed'));
    const labels = text.replace(/"labels":\{[^}]*\}/, '"labels":12345678901234567890');
    expect(problemsOf(() => parseReview(labels))).toContain('request.object.metadata.labels');
    const name = text.replaceAll('"name":"app-config"', '"name":1e400');
    expect(problemsOf(() => parseReview(name))).toEqual(
      expect.arrayContaining(['request.name', 'request.object.metadata.name', 'request.oldObject.metadata.name']),
    );
  });

  it('lists at most 100 problems, and says how many more', () => {
    const body = review();
    body.request.object.metadata.labels = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
    try {
      decodeReview(body);
      expect.unreachable();
    } catch (err) {
      expect((err as BaseError).problems).toHaveLength(100);
      expect((err as BaseError).message).toMatch(/and 4900 more problems$/);
      expect((err as BaseError).message.length).toBeLessThan(10_000);
    }
  });
});
