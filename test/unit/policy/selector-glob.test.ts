import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../src/policy/duration.ts';
import { compileGlob, globProblem } from '../../../src/policy/glob.ts';
import { checkSelector, compileSelector, isValidLabelKey } from '../../../src/policy/selector.ts';

describe('label selectors', () => {
  const select = compileSelector({
    matchLabels: { env: 'prod' },
    matchExpressions: [
      { key: 'tier', operator: 'NotIn', values: ['test'] },
      { key: 'owner', operator: 'Exists' },
      { key: 'legacy', operator: 'DoesNotExist' },
    ],
  });
  it.each([
    [{ env: 'prod', owner: 'a' }, true],
    [{ env: 'prod', owner: 'a', tier: 'test' }, false],
    [{ env: 'prod' }, false],
    [{ env: 'prod', owner: 'a', legacy: 'x' }, false],
    [{ env: 'dev', owner: 'a' }, false],
  ])('%j -> %s', (labels, expected) => {
    expect(select(labels)).toBe(expected);
  });
  it('an empty selector selects everything', () => {
    expect(compileSelector(undefined)({ any: 'thing' })).toBe(true);
  });
  it('validates keys and values', () => {
    expect(isValidLabelKey('bulwark.dev/immutable')).toBe(true);
    expect(isValidLabelKey('Bad_Prefix/x')).toBe(false);
    expect(checkSelector({ matchLabels: { ok: 'not valid!' } }, 's')).toEqual([
      { path: 's.matchLabels["ok"]', message: 'value "not valid!" is not a valid label value' },
    ]);
  });
});

describe('globs', () => {
  it.each([
    ['docker.io/library/*', 'docker.io/library/nginx', true],
    ['docker.io/library/*', 'docker.io/library/a/b', false],
    ['registry.local:5000/**', 'registry.local:5000/a/b/c', true],
    ['ghcr.io/org/app?', 'ghcr.io/org/app1', true],
    ['ghcr.io/org/app', 'ghcr.io/org/app2', false],
    ['ghcr.io/org/app', 'xghcr.io/org/app', false],
  ])('%s vs %s -> %s', (glob, image, expected) => {
    expect(compileGlob(glob).regex.test(image)).toBe(expected);
  });
  it('keeps the literal prefix for indexing and refuses odd characters', () => {
    expect(compileGlob('registry.local:5000/shop/*').literalPrefix).toBe('registry.local:5000/shop/');
    expect(globProblem('a b')).toMatch(/may contain only/);
    expect(globProblem('a/****')).toMatch(/more than two/);
  });
});

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
    ['1d', undefined],
    ['', undefined],
  ])('%s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});
