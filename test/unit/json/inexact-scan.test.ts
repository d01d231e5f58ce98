// The scan that picks the lossless parser was rewritten for speed (issue 19): it must
// answer exactly as the two-alternative pattern it replaced, on the captured reviews and
// on generated text full of digits, points, exponents, separators and whitespace.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mayHoldInexactNumbers } from '../../../src/json/numbers.ts';
import { REVIEWS_DIR, reviewNames } from '../../helpers/fixtures.ts';

const REFERENCE = /[:,[][ \t\r\n]*-?\d[\d.]{15}|[:,[][ \t\r\n]*-?\d[\d.]*[eE]/;

/** A deterministic generator (no flaky seeds). */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

const ALPHABET = ['0', '1', '9', '.', 'e', 'E', '-', '+', ':', ',', '[', ' ', '\n', '\t', '"', 'a', '{', '}'];

describe('mayHoldInexactNumbers', () => {
  it('answers as the reference pattern on every captured review', () => {
    for (const name of reviewNames()) {
      const text = readFileSync(join(REVIEWS_DIR, `${name}.json`), 'utf8');
      expect(mayHoldInexactNumbers(text), name).toBe(REFERENCE.test(text));
    }
  });

  it('answers as the reference pattern on 50,000 generated texts', () => {
    const next = random(19);
    let matched = 0;
    for (let i = 0; i < 50_000; i++) {
      const length = 1 + Math.floor(next() * 40);
      let text = '';
      for (let k = 0; k < length; k++) text += ALPHABET[Math.floor(next() * ALPHABET.length)];
      // Long digit runs are rare at random: make some.
      if (i % 3 === 0) text = `${text.slice(0, 5)}:${'1234567.8'.repeat(1 + (i % 3))}${text.slice(5)}`;
      const expected = REFERENCE.test(text);
      if (expected) matched++;
      expect(mayHoldInexactNumbers(text), JSON.stringify(text)).toBe(expected);
    }
    // Both answers occur often enough for the comparison to mean something.
    expect(matched).toBeGreaterThan(5_000);
    expect(matched).toBeLessThan(45_000);
  });
});
