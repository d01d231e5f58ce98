// The semantic diff of a locked object: what a person would call a change.
// Bookkeeping the apiserver or clients maintain is removed before comparing, so that
// reapplying an identical manifest, status writes and managedFields churn are no change.

import jsonPatch from 'fast-json-patch';
import type { KubeObject } from '../../admission/types.ts';

export type ChangeKind = 'added' | 'removed' | 'changed';

export interface Change {
  /** JSON Pointer of the changed field. */
  path: string;
  kind: ChangeKind;
}

/** metadata fields maintained by the apiserver on every write. */
const SYSTEM_METADATA = ['resourceVersion', 'managedFields', 'generation', 'selfLink'] as const;

/**
 * Annotations clients and built-in controllers maintain that carry no intent of their
 * own: `last-applied-configuration` mirrors the manifest kubectl applied (its content
 * changes only together with a real field, but kubectl adds it to objects created
 * otherwise), and the deployment controller's revision counter.
 */
export const BOOKKEEPING_ANNOTATIONS: readonly string[] = [
  'kubectl.kubernetes.io/last-applied-configuration',
  'deployment.kubernetes.io/revision',
];

/**
 * A shallow copy without bookkeeping. Removed before comparing (not filtered after), so
 * that adding the first annotation next to a bookkeeping one is no change either.
 */
function withoutBookkeeping(obj: KubeObject): KubeObject {
  const { status: _status, ...rest } = obj;
  if (rest.metadata === undefined) return rest;
  const metadata = { ...rest.metadata };
  for (const key of SYSTEM_METADATA) delete metadata[key];
  if (metadata.annotations && BOOKKEEPING_ANNOTATIONS.some((a) => a in metadata.annotations!)) {
    const annotations = { ...metadata.annotations };
    for (const key of BOOKKEEPING_ANNOTATIONS) delete annotations[key];
    if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
    else delete metadata.annotations;
  }
  return { ...rest, metadata };
}

const KIND_OF_OP: Record<string, ChangeKind> = { add: 'added', remove: 'removed', replace: 'changed' };

/** Every change between two versions of an object, bookkeeping excluded. */
export function semanticChanges(oldObject: KubeObject, newObject: KubeObject): Change[] {
  const before = withoutBookkeeping(oldObject);
  const after = withoutBookkeeping(newObject);
  // An absent map and an empty one mean the same; give both sides one so that a new
  // annotation, or the last label removed, is reported by its key, not as the whole map.
  for (const [a, b] of [[before, after], [after, before]] as const) {
    for (const map of ['annotations', 'labels'] as const) {
      if (a.metadata && b.metadata && a.metadata[map] === undefined && b.metadata[map] !== undefined) a.metadata[map] = {};
    }
  }
  const ops = jsonPatch.compare(before, after);
  return ops.map((op) => ({ path: op.path, kind: KIND_OF_OP[op.op] ?? 'changed' }));
}
