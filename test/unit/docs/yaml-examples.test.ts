// Every YAML example in the documentation parses, says what it seems to say, and, when it
// is a Bulwark object, is one Bulwark accepts. `message: Ask #platform ...` stored only
// "Ask": in YAML, " #" starts a comment, so a comment that does not start with "# " is
// taken for text cut short.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Lexer, parseAllDocuments } from 'yaml';
import { POLICY_API_VERSION } from '../../../src/policy/crds.ts';
import { compiler } from '../../helpers/snapshots.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');

/** Markdown files of the project (not of node_modules, nor of hidden or scratch folders). */
function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name.startsWith('.') || e.name === 'node_modules' || e.name === 'tmp') return [];
    const path = join(dir, e.name);
    return e.isDirectory() ? markdownFiles(path) : e.name.endsWith('.md') ? [relative(REPO_ROOT, path)] : [];
  });
}

const DOCS = markdownFiles(REPO_ROOT);

interface Example {
  where: string;
  text: string;
}

/** The ```yaml blocks of a Markdown file, each with its line. */
function yamlBlocks(file: string): Example[] {
  const lines = readFileSync(join(REPO_ROOT, file), 'utf8').split('\n');
  const blocks: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*```ya?ml\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    while (++i < lines.length && !/^\s*```\s*$/.test(lines[i]!));
    blocks.push({ where: `${file}:${start}`, text: lines.slice(start, i).join('\n') });
  }
  return blocks;
}

/** Comments that do not start with "# " (or are a bare "#"): most likely text a " #" cut off. */
function suspectComments(text: string): string[] {
  return [...new Lexer().lex(text)].filter((lexeme) => lexeme.startsWith('#') && !/^#(\s|$)/.test(lexeme));
}

const examples = DOCS.flatMap(yamlBlocks);
const FIXTURE_POLICIES = join('test', 'fixtures', 'policies', 'valid', 'policies.yaml');

describe('YAML examples in the documentation', () => {
  it('finds the examples (README.md has some)', () => {
    expect(DOCS).toEqual(expect.arrayContaining(['README.md', 'charts/bulwark/README.md']));
    expect(examples.filter((e) => e.where.startsWith('README.md:')).length).toBeGreaterThanOrEqual(2);
  });

  it.each(examples.map((e) => [e.where, e]))('%s parses without errors or warnings', (_where, example) => {
    for (const doc of parseAllDocuments(example.text)) {
      expect([...doc.errors, ...doc.warnings].map((e) => e.message)).toEqual([]);
    }
  });

  it.each([
    ...examples.map((e): [string, string] => [e.where, e.text]),
    [FIXTURE_POLICIES, readFileSync(join(REPO_ROOT, FIXTURE_POLICIES), 'utf8')],
  ])('%s has no text cut short by a " #"', (_where, text) => {
    expect(suspectComments(text)).toEqual([]);
  });

  it.each(examples.map((e) => [e.where, e]))('%s: every Bulwark object in it is valid', (_where, example) => {
    for (const doc of parseAllDocuments(example.text)) {
      const object = doc.toJS() as { apiVersion?: string; kind?: string } | null;
      if (object?.apiVersion !== POLICY_API_VERSION) continue;
      const compiled =
        object.kind === 'ImmutabilityPolicy'
          ? compiler.immutability(object)
          : object.kind === 'ImagePolicy'
            ? compiler.image(object)
            : compiler.unlock(object);
      expect(compiled.ok ? [] : compiled.problems).toEqual([]);
    }
  });

  it('would catch the comment that cut a message short', () => {
    expect(suspectComments('message: Ask #platform for an UnlockRequest.')).toEqual([
      '#platform for an UnlockRequest.',
    ]);
    expect(suspectComments('enforcement: Enforce   # Enforce (deny) | Warn\n#\nmessage: "Ask #platform"')).toEqual([]);
  });
});
