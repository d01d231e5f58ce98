// Standalone mode: policies from YAML (or JSON) files in a directory, through the same
// compile path as policies read from the cluster (the store's). An invalid policy is an
// error at load time, listing every problem with its file and field path.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { BaseError, type FieldProblem } from '../errors.ts';
import { POLICY_API_VERSION, POLICY_KINDS, type PolicyKind } from './crds.ts';
import type { PolicyStore } from './store.ts';

export interface LoadedPolicy {
  kind: PolicyKind;
  object: Record<string, unknown>;
  /** `file.yaml` or `file.yaml#2` for the second document of a file. */
  where: string;
}

function invalid(dir: string, problems: readonly FieldProblem[]): BaseError {
  return new BaseError(
    'POLICY_INVALID',
    `invalid policies in ${dir}:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
    { problems },
  );
}

/** The policy documents of one file's text; `name` is how problems name the file. */
export function parsePolicyDocuments(text: string, name: string): { loaded: LoadedPolicy[]; problems: FieldProblem[] } {
  const loaded: LoadedPolicy[] = [];
  const problems: FieldProblem[] = [];
  const docs = parseAllDocuments(text);
  docs.forEach((doc, i) => {
    const where = docs.length > 1 ? `${name}#${i + 1}` : name;
    if (doc.errors.length > 0) {
      problems.push({ path: where, message: `not valid YAML: ${doc.errors[0]!.message}` });
      return;
    }
    const object = doc.toJS() as Record<string, unknown> | null;
    if (object === null) return;
    const kind = object.kind as string;
    if (object.apiVersion !== POLICY_API_VERSION || !(kind in POLICY_KINDS)) {
      problems.push({
        path: where,
        message:
          `expected apiVersion ${POLICY_API_VERSION} and kind ImmutabilityPolicy or ImagePolicy, ` +
          `got ${String(object.apiVersion)} ${String(kind)}`,
      });
      return;
    }
    const metadata = (object.metadata ?? {}) as Record<string, unknown>;
    object.metadata = {
      ...metadata,
      uid: metadata.uid ?? `file:${kind}/${String(metadata.name)}`,
      resourceVersion: metadata.resourceVersion ?? '0',
    };
    loaded.push({ kind: kind as PolicyKind, object, where });
  });
  return { loaded, problems };
}

/** Reads every policy document; refuses files that are not YAML or hold other kinds. */
export async function readPolicyFiles(dir: string): Promise<LoadedPolicy[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.(ya?ml|json)$/.test(n)).sort();
  } catch (err) {
    throw new BaseError('POLICY_INVALID', `cannot read policy directory ${dir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const loaded: LoadedPolicy[] = [];
  const problems: FieldProblem[] = [];
  for (const name of names) {
    const parsed = parsePolicyDocuments(await readFile(join(dir, name), 'utf8'), name);
    loaded.push(...parsed.loaded);
    problems.push(...parsed.problems);
  }
  if (problems.length > 0) throw invalid(dir, problems);
  return loaded;
}

/** Compiles loaded policies into the store; returns every problem, each with its file and field path. */
export function upsertLoaded(store: PolicyStore, loaded: readonly LoadedPolicy[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const { kind, object, where } of loaded) {
    const name = String((object.metadata as { name?: unknown }).name);
    for (const p of store.upsert(kind, object))
      problems.push({ path: `${where}: ${kind} ${name}: ${p.path}`, message: p.message });
  }
  return problems;
}

/** Loads the directory into the store (compiling each policy once) and marks `source` synced. */
export async function loadPolicyFiles(store: PolicyStore, dir: string, source = 'files'): Promise<number> {
  const loaded = await readPolicyFiles(dir);
  const problems = upsertLoaded(store, loaded);
  if (problems.length > 0) throw invalid(dir, problems);
  store.markSynced(source);
  return loaded.length;
}
