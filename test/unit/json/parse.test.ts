// The lossless JSON parser: the same values as JSON.parse, except that numbers a double
// cannot hold stay exact; no recursion; and the check for Go's canonical encoding that
// kubectl's last-applied annotation is held to.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cloneJson } from '../../../src/json/clone.ts';
import { canonicalDecimal, isRawNumber, mayHoldInexactNumbers, sameNumber } from '../../../src/json/numbers.ts';
import { parseGoCanonicalJson, parseJson, parseJsonLossless } from '../../../src/json/parse.ts';
import { reviewNames, REVIEWS_DIR } from '../../helpers/fixtures.ts';

const nested = (depth: number, leaf: string) => `${'{"a":['.repeat(depth)}${leaf}${']}'.repeat(depth)}`;

describe('parseJsonLossless', () => {
  const exactReviews = reviewNames().filter((name) => name !== 'customresource-bigint-changed');
  it.each(exactReviews)('reads captured review %s as JSON.parse does', (name) => {
    const text = readFileSync(join(REVIEWS_DIR, `${name}.json`), 'utf8');
    expect(parseJsonLossless(text)).toEqual(JSON.parse(text));
  });

  it.each([
    '{"a":[1,-2.5,0.1,1e3,true,false,null,"x\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"],"b":{}}',
    ' \t\n\r[ 1 , { "k" : "v" } ] ',
    '"just a string"',
    '{"a":1,"a":2}',
    '{"10":1,"9":2,"b":3}',
  ])('reads %s as JSON.parse does', (text) => {
    expect(JSON.stringify(parseJsonLossless(text))).toBe(JSON.stringify(JSON.parse(text)));
  });

  it.each([
    '{',
    '[1,]',
    '{"a":1,}',
    '01',
    '1.',
    '-',
    '1e',
    '"\u0001"',
    '"\\x"',
    '"abc',
    '"ab\\"',
    '{"a" 1}',
    '[1 2]',
    'tru',
    '{,}',
    '[,1]',
    '{"a":1}x',
    '',
    '{"a":1}}',
  ])('rejects %j like JSON.parse', (text) => {
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    expect(() => parseJsonLossless(text)).toThrow(SyntaxError);
  });

  it('keeps numbers a double cannot hold as raw leaves that JSON.stringify writes back verbatim', () => {
    const text =
      '{"big":9007199254740993,"max":9223372036854775807,"long":0.10000000000000001,"huge":1e400,"tiny":1e-400}';
    const value = parseJsonLossless(text) as Record<string, unknown>;
    for (const key of ['big', 'max', 'long', 'huge', 'tiny']) expect(isRawNumber(value[key]), key).toBe(true);
    expect(JSON.stringify(value)).toBe(text);
  });

  it('keeps exact numbers plain, however they are spelled', () => {
    const value = parseJsonLossless('[9007199254740992,1.50,-2.5e3,1e21,0.1,123456789012345]') as unknown[];
    expect(value).toEqual([9007199254740992, 1.5, -2500, 1e21, 0.1, 123456789012345]);
  });

  it('makes __proto__ an own key, as JSON.parse does, never the prototype', () => {
    const value = parseJsonLossless('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('parses 100,000 levels of nesting without recursion', () => {
    const value = parseJsonLossless(nested(100_000, '9007199254740993'));
    let cursor: unknown = value;
    for (let i = 0; i < 100_000; i++) cursor = (cursor as { a: unknown[] }).a[0];
    expect(isRawNumber(cursor)).toBe(true);
  });
});

describe('parseJson', () => {
  it('uses JSON.parse unless a number literal may be inexact', () => {
    expect(mayHoldInexactNumbers('{"a":123456789012345,"b":"9007199254740993","c":1.25}')).toBe(false);
    for (const text of ['{"a":9007199254740993}', '{"a": 1e5}', '[0.10000000000000001]', '{"a":1234567890.1234567}']) {
      expect(mayHoldInexactNumbers(text), text).toBe(true);
    }
    expect(isRawNumber((parseJson('{"a":9007199254740993}') as { a: unknown }).a)).toBe(true);
  });
});

describe('exact number comparison', () => {
  it.each([
    ['1.50', '1.5', true],
    ['15e-1', '1.5', true],
    ['0.00120', '1.2e-3', true],
    ['-0', '0', true],
    ['1200', '1.2E+3', true],
    ['9007199254740993', '9007199254740992', false],
    ['0.10000000000000001', '0.1', false],
    ['1e400', '2e400', false],
  ])('%s and %s are the same number: %s', (a, b, same) => {
    expect(canonicalDecimal(a) === canonicalDecimal(b)).toBe(same);
    const [x, y] = parseJsonLossless(`[${a},${b}]`) as [number, number];
    expect(sameNumber(x, y)).toBe(same);
  });
});

describe("parseGoCanonicalJson (what Go's encoding/json writes, as kubectl does)", () => {
  const written =
    '{"apiVersion":"v1","data":{"10":"y","a":"2","b":"\\u003cx\\u003e\\u0026\\u2028\\b"},"kind":"ConfigMap","' +
    'metadata":{"annotations":{},"labels":{"team":"a"},"name":"c1","namespace":"exp"},"n":9007199254740993}\n';

  it("accepts kubectl's own annotations (sorted keys, HTML escapes, trailing newline), also from older kubectl", () => {
    expect(parseGoCanonicalJson(written)).toMatchObject({ data: { 10: 'y', b: '<x>&\u2028\b' } });
    expect(parseGoCanonicalJson(written.slice(0, -1))).toBeDefined();
    expect(parseGoCanonicalJson(written.replace('\\b', '\\u0008'))).toBeDefined();
  });

  it.each([
    ['whitespace', written.replace('"kind"', ' "kind"')],
    ['a second newline', `${written}\n`],
    ['an unescaped <', written.replace('\\u003c', '<')],
    ['an escape Go does not write', written.replace('"v1"', '"\\u00761"')],
    ['keys out of order', written.replace('"10":"y","a":"2"', '"a":"2","10":"y"')],
    ['a duplicate key', written.replace('"a":"2"', '"a":"2","a":"2"')],
    ['a number spelled otherwise', written.replace('9007199254740993', '9.007199254740993e15')],
    ['not JSON', 'owner=mallory'],
  ])('rejects a text with %s', (_what, text) => {
    expect(parseGoCanonicalJson(text)).toBeUndefined();
  });
});

describe('cloneJson', () => {
  it('copies deeply without recursion and keeps raw numbers and __proto__ keys', () => {
    const value = parseJsonLossless(`{"__proto__":1,"deep":${nested(50_000, '9007199254740993')}}`) as Record<
      string,
      unknown
    >;
    const copy = cloneJson(value);
    expect(copy === value).toBe(false);
    expect(Object.keys(copy)).toEqual(['__proto__', 'deep']);
    let [original, copied]: unknown[] = [value.deep, copy.deep];
    // Plain comparisons: vitest's matchers recurse into objects to describe them.
    for (let i = 0; i < 50_000; i++) {
      if (copied === original) throw new Error(`level ${i} was shared, not copied`);
      [original, copied] = [(original as { a: unknown[] }).a[0], (copied as { a: unknown[] }).a[0]];
    }
    expect(isRawNumber(copied) && (copied as { rawJSON: string }).rawJSON).toBe('9007199254740993');
  });

  it('shares what is not JSON (a Date) rather than emptying it', () => {
    const when = new Date(0);
    expect(cloneJson({ metadata: { creationTimestamp: when } }).metadata.creationTimestamp).toBe(when);
  });
});
