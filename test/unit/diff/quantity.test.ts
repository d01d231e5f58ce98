// Quantities compare by value: the apiserver stores `cpu: 0.5` as "500m", and kubectl's
// last-applied record keeps the spelling of the manifest.

import { describe, expect, it } from 'vitest';
import { sameQuantity } from '../../../src/diff/quantity.ts';

describe('sameQuantity', () => {
  it.each([
    ['0.5', '500m'],
    ['1.5Gi', '1536Mi'],
    ['0.125Gi', '128Mi'],
    ['1e3', '1k'],
    ['1E', '1000P'],
    ['1Ki', '1024'],
    ['.5', '500m'],
    ['5.', '5'],
    ['0', '-0'],
    ['+1', '1'],
  ])('%s is %s', (a, b) => {
    expect(sameQuantity(a, b)).toBe(true);
  });

  it.each([
    ['200m', '100m'],
    ['-1', '1'],
    ['1G', '1Gi'],
    ['1e99', '1'],
    ['1e999', '1e999'],
    ['', '0'],
    ['x', 'x'],
    ['1m1', '1m1'],
    ['1'.repeat(65), '1'.repeat(65)],
  ])('%s is not %s (or not a quantity)', (a, b) => {
    expect(sameQuantity(a, b)).toBe(false);
  });
});
