// The semantic diff of a locked object: what a person would call a change.
// Bookkeeping the apiserver or clients maintain is removed before comparing, so that
// reapplying an identical manifest, status writes and managedFields churn are no change.

import jsonPatch from 'fast-json-patch';
import type { KubeObject } from '../../admission/types.ts';
import { isUnderPointer } from './paths.ts';

export type ChangeKind = 'added' | 'removed' | 'changed';

export interface Change {
  /** JSON Pointer of the changed field. */
  path: string;
  kind: ChangeKind;
}

/** metadata fields maintained by the apiserver on every write. */
const SYSTEM_METADATA = ['resourceVersion', 'managedFields', 'generation', 'selfLink'] as const;

/**
 * Fields clients and built-in controllers maintain that carry no intent of their own:
 * `last-applied-configuration` mirrors the manifest kubectl applied (its content changes
 * only together with a real field), and the deployment controller's revision counter.
 */
export const BOOKKEEPING_POINTERS: readonly string[] = [
  '/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration',
  '/metadata/annotations/deployment.kubernetes.io~1revision',
];

function withoutBookkeeping(obj: KubeObject): KubeObject {
  const { status: _status, ...rest } = obj;
  if (rest.metadata === undefined) return rest;
  const metadata = { ...rest.metadata };
  for (const key of SYSTEM_METADATA) delete metadata[key];
  return { ...rest, metadata };
}

const KIND_OF_OP: Record<string, ChangeKind> = { add: 'added', remove: 'removed', replace: 'changed' };

/** Every change between two versions of an object, bookkeeping excluded. */
export function semanticChanges(oldObject: KubeObject, newObject: KubeObject): Change[] {
  const ops = jsonPatch.compare(withoutBookkeeping(oldObject), withoutBookkeeping(newObject));
  const changes: Change[] = [];
  for (const op of ops) {
    if (BOOKKEEPING_POINTERS.some((p) => isUnderPointer(op.path, p))) continue;
    changes.push({ path: op.path, kind: KIND_OF_OP[op.op] ?? 'changed' });
  }
  return changes;
}
