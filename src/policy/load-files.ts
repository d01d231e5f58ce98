// Standalone mode: policies from YAML (or JSON) files in a directory, through the same
// compile path as policies read from the cluster. An invalid policy is an error at load
// time, listing every problem with its file and field path.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { BaseError, type FieldProblem } from '../errors.ts';
import { compileImagePolicy } from './compile-image.ts';
import { compileImmutabilityPolicy } from './compile-immutability.ts';
import { POLICY_API_VERSION, POLICY_KINDS, type PolicyKind } from './crds.ts';
import type { PolicyStore } from './store.ts';

export interface LoadedPolicy {
  kind: PolicyKind;
  object: Record<string, unknown>;
  file: string;
}

export async function readPolicyFiles(dir: string): Promise<LoadedPolicy[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.(ya?ml|json)$/.test(n)).sort();
  } catch (err) {
    throw new BaseError('POLICY_INVALID', `cannot read policy directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const loaded: LoadedPolicy[] = [];
  const problems: FieldProblem[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const docs = parseAllDocuments(await readFile(file, 'utf8'));
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
        problems.push({ path: where, message: `expected apiVersion ${POLICY_API_VERSION} and kind ImmutabilityPolicy or ImagePolicy, got ${String(object.apiVersion)} ${String(kind)}` });
        return;
      }
      const metadata = (object.metadata ?? {}) as Record<string, unknown>;
      object.metadata = { ...metadata, uid: metadata.uid ?? `file:${kind}/${String(metadata.name)}`, resourceVersion: metadata.resourceVersion ?? '0' };
      const result = kind === 'ImmutabilityPolicy' ? compileImmutabilityPolicy(object) : compileImagePolicy(object);
      if (!result.ok) {
        for (const p of result.problems) problems.push({ path: `${where}: ${kind} ${String(metadata.name)}: ${p.path}`, message: p.message });
        return;
      }
      loaded.push({ kind: kind as PolicyKind, object, file });
    });
  }
  if (problems.length > 0) {
    throw new BaseError('POLICY_INVALID', `invalid policies in ${dir}:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`, { problems });
  }
  return loaded;
}

export async function loadPolicyFiles(store: PolicyStore, dir: string, source = 'files'): Promise<number> {
  const loaded = await readPolicyFiles(dir);
  for (const kind of Object.keys(POLICY_KINDS) as PolicyKind[]) {
    store.replaceAll(kind, loaded.filter((l) => l.kind === kind).map((l) => l.object));
  }
  store.markSynced(source);
  return loaded.length;
}
