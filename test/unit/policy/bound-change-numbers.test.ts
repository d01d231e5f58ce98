import { describe, expect, it } from 'vitest';
import { parseJsonLossless } from '../../../src/json/parse.ts';
import { firstInexactNumber } from '../../../src/policy/bound-change-numbers.ts';

describe('firstInexactNumber', () => {
  it('finds a raw leaf of the lossless parser, with its path and literal', () => {
    const value = parseJsonLossless('{"a":[1,{"b":1732846513123456789}]}');
    expect(firstInexactNumber(value, 'v')).toEqual({ path: 'v.a[1].b', literal: '1732846513123456789' });
  });

  it('finds an integer JSON.parse already rounded (beyond 2^53 - 1)', () => {
    expect(firstInexactNumber(JSON.parse('[0, -9007199254740993]'), 'p')).toEqual({
      path: 'p[1]',
      literal: '-9007199254740992',
    });
  });

  it('passes what every reader reads alike', () => {
    expect(firstInexactNumber(JSON.parse('{"n":9007199254740991,"f":0.1,"s":"9007199254740993"}'), 'p')).toBe(
      undefined,
    );
  });

  it('walks a value nested deeper than the call stack allows', () => {
    const deep = JSON.parse(`${'{"a":'.repeat(20_000)}9007199254740993${'}'.repeat(20_000)}`);
    expect(firstInexactNumber(deep, 'p')?.literal).toBe('9007199254740992');
  });
});
