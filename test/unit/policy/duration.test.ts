import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/policy/duration.ts';

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
    ['2h', 7_200_000],
  ])('parses %s as Go does', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '1d', '-5m', '5', 'h', '1h 30m'])('refuses %j', (text) => expect(parseDuration(text)).toBeUndefined());

  it.each([
    [7_200_000, '2h'],
    [5_400_000, '90m'],
    [1_800_000, '30m'],
    [45_000, '45s'],
    [1500, '1500ms'],
    [0, '0m'],
  ])('writes %i ms exactly as %s, which parses back', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});
