// Code lines stay within 120 characters (.editorconfig, biome.json): the formatter wraps
// code, and long messages and patterns are written in pieces (test/helpers/regexp.ts).

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');
const MAX = 120;
const SKIP = new Set(['node_modules', 'coverage', 'fixtures', 'generated', 'tmp']);

function codeFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name.startsWith('.') || SKIP.has(e.name)) return [];
    const path = join(dir, e.name);
    return e.isDirectory() ? codeFiles(path) : /\.(ts|js|mjs)$/.test(e.name) ? [path] : [];
  });
}

describe('line length', () => {
  it(`has no code line over ${MAX} characters`, () => {
    const long = ['src', 'test', 'harness', 'bench', 'scripts', 'bin']
      .flatMap((dir) => codeFiles(join(REPO_ROOT, dir)))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .flatMap((line, i) => (line.length > MAX ? [`${relative(REPO_ROOT, file)}:${i + 1} (${line.length})`] : [])),
      );
    expect(long).toEqual([]);
  });
});
