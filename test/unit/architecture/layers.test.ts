// The layering of src/, as drawn in the README's architecture section: each folder may
// import only folders below it, so no two folders import each other and the pure core
// never reaches up into the I/O shell. A new folder must be placed here to be imported.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { joinedRegExp } from '../../helpers/regexp.ts';
const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');
const SRC = join(REPO_ROOT, 'src');

/** Bottom to top. A folder (or a file at src/'s top) imports only from entries before it. */
const LAYERS: readonly string[] = [
  'errors.ts',
  'json', // lossless JSON: parse, numbers, clone
  'registry', // OCI distribution client and registry naming: a library, nothing of ours but errors
  'admission', // AdmissionReview types and decoding
  'diff', // JSON Pointers, the semantic diff and what it counts as bookkeeping
  'attestation', // Bulwark's keys: MACs over approvals and seals, content hashes
  'policy', // CRDs, compiling, the compiled form, strictness, the store
  'decision', // what rules read (facts) and return (verdicts)
  'observability', // logs and metrics
  'rules', // the rules, pure
  'review', // every rule on one request; the fail-closed runner; the response
  'cluster', // I/O shell: the API server (facts, informers, Secrets, discovery, leader election)
  'image-verification', // I/O shell: registries, signatures, the verification cache
  'controller', // I/O shell: leader-elected loops (UnlockRequest status, Events, notifications)
  'ledger', // I/O shell: the drift audit loop (seals, reports)
  'config', // configuration schema and loading
  'server', // HTTPS: /validate, probes, metrics, TLS
  'main.ts', // composition root
  'cli', // `bulwark` and `kubectl bulwark`
];

/** The pure core: no I/O, no clock, no randomness. */
const PURE = ['json', 'admission', 'attestation', 'diff', 'decision', 'rules', 'review'];
const PURE_NODE_MODULES = new Set(['node:crypto', 'node:util']);
const IMPURE_CALLS = /\bDate\.now\(|new Date\(\)|Math\.random\(|\bsetTimeout\(|\bsetInterval\(|\bprocess\./;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? sourceFiles(path) : e.name.endsWith('.ts') ? [path] : [];
  });
}

/** `rules` for src/rules/images/plan.ts, `main.ts` for src/main.ts. */
const unitOf = (file: string) => relative(SRC, file).split('/')[0]!;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [
    ...text.matchAll(
      joinedRegExp(
        /(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/,
        /|(?:^|\n)import\s+['"]([^'"]+)['"]/g,
      ),
    ),
  ].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** The imports of `file` that reach a folder above its own, or leave src/. */
function upwardImports(file: string, specifiers: readonly string[]): string[] {
  const from = unitOf(file);
  const where = relative(REPO_ROOT, file);
  return specifiers
    .filter((s) => s.startsWith('.'))
    .flatMap((specifier) => {
      const target = resolve(dirname(file), specifier);
      if (!target.startsWith(`${SRC}/`)) return [`${where} imports ${specifier}, outside src/`];
      const to = unitOf(target);
      return to !== from && LAYERS.indexOf(to) > LAYERS.indexOf(from)
        ? [`${where} (${from}) imports ${specifier} (${to}, above it)`]
        : [];
    });
}

const files = sourceFiles(SRC);

describe('layers', () => {
  it('places every folder of src/', () => {
    const units = [...new Set(files.map(unitOf))].sort();
    expect(units.filter((u) => !LAYERS.includes(u))).toEqual([]);
  });

  it('imports only downwards: no folder imports one above it, so no two import each other', () => {
    expect(files.flatMap((file) => upwardImports(file, importsOf(file)))).toEqual([]);
  });

  it('keeps the core pure: no I/O modules, clock, timers or randomness', () => {
    const violations: string[] = [];
    for (const file of files.filter((f) => PURE.includes(unitOf(f)))) {
      const where = relative(REPO_ROOT, file);
      for (const specifier of importsOf(file)) {
        if (specifier.startsWith('node:') && !PURE_NODE_MODULES.has(specifier))
          violations.push(`${where} imports ${specifier}`);
      }
      const code = readFileSync(file, 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '');
      const call = IMPURE_CALLS.exec(code);
      if (call) violations.push(`${where} calls ${call[0]}`);
    }
    expect(violations).toEqual([]);
  });

  it('reports an upward or outward import (the check can fail)', () => {
    const rule = join(SRC, 'rules', 'images', 'evaluate.ts');
    expect(upwardImports(rule, ['../../policy/compiled.ts', './plan.ts', 'node:crypto'])).toEqual([]);
    expect(upwardImports(rule, ['../../cluster/secrets.ts', '../../../test/helpers/fixtures.ts'])).toEqual([
      'src/rules/images/evaluate.ts (rules) imports ../../cluster/secrets.ts (cluster, above it)',
      'src/rules/images/evaluate.ts imports ../../../test/helpers/fixtures.ts, outside src/',
    ]);
    expect(importsOf(join(SRC, 'review', 'decide.ts'))).toContain('../decision/facts.ts');
  });
});
