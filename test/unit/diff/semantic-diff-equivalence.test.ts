// The diff builds a change's path only when it names one (issue 19). It must name exactly
// what the reference (the diff as it was) names, in the same order, on every pair of
// captured objects and on generated and adversarial pairs: deep nesting, big arrays,
// keys like `__proto__` and `a/b~c`, numbers beyond 2^53, bookkeeping metadata.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/admission/types.ts';
import { parseJsonLossless } from '../../../src/json/parse.ts';
import { semanticChanges, type DiffOptions } from '../../../src/diff/semantic-diff.ts';
import { loadReview, reviewNames } from '../../helpers/fixtures.ts';
import { referenceSemanticChanges } from '../../helpers/reference-semantic-diff.ts';

function agree(before: unknown, after: unknown, options: DiffOptions = {}): number {
  const expected = referenceSemanticChanges(before as KubeObject, after as KubeObject, options);
  expect(semanticChanges(before as KubeObject, after as KubeObject, options)).toEqual(expected);
  return expected.length;
}

/** A deterministic generator (no flaky seeds). */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

const KEYS = ['a', 'b', 'metadata', 'labels', 'annotations', 'status', '__proto__', 'constructor', 'a/b~c', '', 'x'];
const LEAVES = ['1', '"v"', 'null', 'true', '[]', '{}', '9007199254740993', '9007199254740992', '1.0', '1e400', '"~/"'];

/** JSON text of a random tree (text, so that big numbers stay raw and `__proto__` stays a key). */
function tree(next: () => number, depth: number): string {
  const r = next();
  if (depth === 0 || r < 0.3) return LEAVES[Math.floor(next() * LEAVES.length)]!;
  const size = Math.floor(next() * 4);
  if (r < 0.5) return `[${Array.from({ length: size }, () => tree(next, depth - 1)).join(',')}]`;
  const keys = new Set(Array.from({ length: size }, () => KEYS[Math.floor(next() * KEYS.length)]!));
  return `{${[...keys].map((k) => `${JSON.stringify(k)}:${tree(next, depth - 1)}`).join(',')}}`;
}

/** `text` with some of its leaves and members changed, dropped or added. */
function mutate(next: () => number, value: unknown): unknown {
  if (next() < 0.1) return parseJsonLossless(LEAVES[Math.floor(next() * LEAVES.length)]!);
  if (Array.isArray(value)) {
    const copy = value.map((v) => mutate(next, v));
    if (next() < 0.2) copy.push(parseJsonLossless(tree(next, 2)));
    if (next() < 0.2) copy.splice(0, 1);
    return copy;
  }
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      if (next() < 0.1) continue;
      Object.defineProperty(copy, key, {
        value: mutate(next, (value as Record<string, unknown>)[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    if (next() < 0.2) copy[KEYS[Math.floor(next() * KEYS.length)]!] = parseJsonLossless(tree(next, 2));
    return copy;
  }
  return value;
}

describe('semanticChanges agrees with the reference diff', () => {
  const objects = reviewNames().flatMap((name) => {
    const { request } = loadReview(name);
    return [request.oldObject, request.object].filter((o): o is KubeObject => typeof o === 'object' && o !== null);
  });

  it('on every captured review, and on every pair of captured objects', () => {
    for (const name of reviewNames()) {
      const { request } = loadReview(name);
      if (!request.oldObject || !request.object) continue;
      const options = { username: request.userInfo.username, fieldManager: 'kubectl-client-side-apply' };
      agree(request.oldObject, request.object, options);
      agree(request.object, request.oldObject);
    }
    let changed = 0;
    for (const a of objects) for (const b of objects) changed += agree(a, b) > 0 ? 1 : 0;
    expect(changed).toBeGreaterThan(objects.length);
  });

  it('on 3,000 generated pairs with raw numbers, __proto__ keys and escaped segments', () => {
    const next = random(19);
    let changes = 0;
    for (let i = 0; i < 3000; i++) {
      const before = parseJsonLossless(tree(next, 5));
      changes += agree(before, mutate(next, before));
    }
    expect(changes).toBeGreaterThan(1000);
  });

  it('on 20,000 levels of nesting with changes at the bottom and along the way', () => {
    const nested = (depth: number, leaf: (i: number) => string) => {
      let text = leaf(depth);
      for (let i = depth - 1; i >= 0; i--) text = `{"k${i % 3}":${text},"v":${leaf(i)}}`;
      return parseJsonLossless(text);
    };
    expect(
      agree(
        nested(20_000, () => '1'),
        nested(20_000, (i) => (i % 1000 === 0 ? '2' : '1')),
      ),
    ).toBe(21);
    expect(
      agree(
        nested(20_000, () => '9007199254740993'),
        nested(20_000, () => '9007199254740992'),
      ),
    ).toBe(20_001);
  });

  it('on big arrays and maps, changed everywhere and nowhere', () => {
    const big = (n: number, f: (i: number) => unknown) => ({
      data: Object.fromEntries(Array.from({ length: n }, (_, i) => [`key-${i}/~${i}`, f(i)])),
      list: Array.from({ length: n }, (_, i) => ({ name: `n${i}`, value: f(i) })),
    });
    expect(agree(big(20_000, String), big(20_000, String))).toBe(0);
    expect(
      agree(
        big(20_000, String),
        big(20_001, (i) => String(i % 7 === 0 ? -i : i)),
      ),
    ).toBeGreaterThan(5000);
  });

  it('on bookkeeping metadata: status, managedFields, annotations and labels appearing or going', () => {
    const object = (meta: string, rest = '') =>
      parseJsonLossless(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"${meta}}${rest}}`);
    const variants = [
      '',
      ',"labels":{}',
      ',"labels":{"a":"1"}',
      ',"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}"}',
      ',"annotations":{"deployment.kubernetes.io/revision":"2"}',
      ',"managedFields":[{"manager":"m","operation":"Update","apiVersion":"v1","fieldsV1":{"f:data":{}}}]',
      ',"managedFields":"x"',
      ',"resourceVersion":"7","generation":3',
    ];
    for (const a of variants)
      for (const b of variants)
        for (const rest of ['', ',"status":{"x":1}', ',"data":{"__proto__":"p"}']) {
          agree(object(a), object(b, rest), { username: 'system:serviceaccount:kube-system:deployment-controller' });
          agree(object(a, rest), object(b), { fieldManager: 'm' });
        }
  });
});
