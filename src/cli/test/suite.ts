// Reading `bulwark test` files: find them, check them against the schema, read the
// manifests and policies they name (paths relative to the test file), and compile the
// policies once per suite into a store, as the webhook does. Any problem is a
// CLI_USAGE error listing every problem with its file and field path (exit 2).

import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { KubeObject } from '../../admission/types.ts';
import { BaseError, formatProblems, type FieldProblem } from '../../errors.ts';
import { DEFAULT_LOCK_LABEL } from '../../policy/builtin.ts';
import type { CompiledUnlock } from '../../policy/compile-unlock.ts';
import type { PolicyCompiler } from '../../policy/compiler.ts';
import { parsePolicyDocuments, upsertLoaded } from '../../policy/load-files.ts';
import { testSuiteProblems } from '../../policy/schemas.ts';
import { PolicyStore } from '../../policy/store.ts';
import { readYamlFile as readYaml } from '../read-yaml.ts';
import type { CaseSpec, SuiteFile } from './suite-schema.ts';
import { ATTESTATION_ASSUMED } from '../../attestation/approval.ts';

/** A test file is named `bulwark-test.yaml` or `*.bulwark-test.yaml` (or `.yml`). */
export const isSuiteFile = (name: string) => /(^|\.)bulwark-test\.ya?ml$/.test(name);

export interface LoadedCase extends Omit<CaseSpec, 'old' | 'new' | 'parent'> {
  old?: KubeObject;
  new?: KubeObject;
  parent?: KubeObject;
}

export interface LoadedSuite {
  file: string;
  name: string;
  store: PolicyStore;
  namespaces: Record<string, Record<string, string>>;
  unlocks: readonly CompiledUnlock[];
  nowMs?: number;
  cases: LoadedCase[];
}

/** The test files at `path` (a file, or every matching file below a directory), sorted. */
export async function findSuiteFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch((err: unknown) => {
    throw new BaseError('CLI_USAGE', `cannot read ${path}: ${(err as Error).message}`);
  });
  if (!info.isDirectory()) return [path];
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && isSuiteFile(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** suite-schema.ts's problems: ajv's code for it is generated with the CRDs' (scripts/generate-validators.ts). */
const suiteProblems = (object: unknown): FieldProblem[] => testSuiteProblems(object);

function usage(file: string, problems: readonly FieldProblem[]): BaseError {
  return new BaseError('CLI_USAGE', `${file}: ${formatProblems(problems)}`, { problems });
}

/** A manifest given inline or as a file path (one document) relative to the test file. */
async function manifestOf(value: string | KubeObject | undefined, base: string, path: string) {
  if (value === undefined || typeof value === 'object') return value;
  const file = resolve(base, value);
  const [doc, ...more] = await readYaml(file);
  if (!doc || more.length > 0 || typeof doc !== 'object')
    throw new BaseError('CLI_USAGE', `${path}: ${value} must hold exactly one manifest`);
  return doc as KubeObject;
}

async function loadPolicies(store: PolicyStore, paths: readonly string[], base: string, shown: string) {
  const problems: FieldProblem[] = [];
  for (const path of paths) {
    const full = resolve(base, path);
    const files = (await stat(full).catch(() => undefined))?.isDirectory()
      ? (await readdir(full)).filter((n) => /\.(ya?ml|json)$/.test(n)).map((n) => join(full, n))
      : [full];
    for (const file of files) {
      const text = await readFile(file, 'utf8').catch((err: unknown) => {
        throw new BaseError('CLI_USAGE', `${shown}: policies: cannot read ${path}: ${(err as Error).message}`);
      });
      const parsed = parsePolicyDocuments(text, relative(base, file) || file);
      problems.push(...parsed.problems, ...upsertLoaded(store, parsed.loaded));
    }
  }
  if (problems.length > 0) throw usage(shown, problems);
}

async function loadUnlocks(compiler: PolicyCompiler, paths: readonly string[], base: string, shown: string) {
  const unlocks: CompiledUnlock[] = [];
  for (const path of paths) {
    for (const [i, doc] of (await readYaml(resolve(base, path))).entries()) {
      const compiled = compiler.unlock(doc);
      if (!compiled.ok)
        throw usage(
          shown,
          compiled.problems.map((p) => ({ path: `unlocks: ${path}#${i + 1}: ${p.path}`, message: p.message })),
        );
      unlocks.push(compiled.unlock);
    }
  }
  return unlocks;
}

export async function loadSuite(file: string, compiler: PolicyCompiler, shown = file): Promise<LoadedSuite> {
  const [doc, ...more] = await readYaml(file);
  if (more.length > 0) throw new BaseError('CLI_USAGE', `${shown}: a test file holds one document`);
  const problems = suiteProblems(doc);
  if (problems.length > 0) throw usage(shown, problems);
  const spec = doc as SuiteFile;
  const base = dirname(file);
  const store = new PolicyStore({
    compiler,
    lockLabel: spec.lockLabel ?? DEFAULT_LOCK_LABEL,
    sources: [],
    attestation: ATTESTATION_ASSUMED,
  });
  await loadPolicies(store, spec.policies ?? [], base, shown);
  store.markSynced('files');
  const cases: LoadedCase[] = [];
  for (const [i, c] of spec.cases.entries()) {
    const at = (field: string) => `${shown}: cases[${i}].${field}`;
    const { old, new: written, parent, ...rest } = c;
    const loaded: LoadedCase = { ...rest };
    const [o, n, p] = await Promise.all([
      manifestOf(old, base, at('old')),
      manifestOf(written, base, at('new')),
      manifestOf(parent, base, at('parent')),
    ]);
    if (o) loaded.old = o;
    if (n) loaded.new = n;
    if (p) loaded.parent = p;
    if (!o && !n && !p) throw usage(shown, [{ path: `cases[${i}]`, message: 'needs old, new or parent' }]);
    cases.push(loaded);
  }
  return {
    file: shown,
    name: spec.name ?? shown,
    store,
    namespaces: spec.namespaces ?? {},
    unlocks: await loadUnlocks(compiler, spec.unlocks ?? [], base, shown),
    ...(spec.now ? { nowMs: Date.parse(spec.now) } : {}),
    cases,
  };
}
