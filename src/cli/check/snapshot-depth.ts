// A snapshot file is YAML, and YAML readers and writers recurse: the `yaml` package overflows
// the stack at about 1,000 levels and js-yaml (which `check --snapshot` reads with) refuses
// more than 100. The apiserver stores objects nested thousands of levels deep (JSON.parse is
// iterative), so `bulwark snapshot` keeps such an object's identity and drops its content.
// `check` then sees every manifest for it as a change (denied, if it is locked): a false
// alarm at worst, never a missed lock. `check --cluster` reads the cluster live and keeps
// everything.

import type { KubeObject } from '../../admission/types.ts';

/** Deeper objects lose their content in a snapshot file (js-yaml reads at most 100 levels). */
export const MAX_SNAPSHOT_DEPTH = 90;

export const CONTENT_OMITTED_ANNOTATION = 'cli.bulwark.dev/content-omitted';

/** The nesting depth of a JSON value, counted without recursion (a scalar is 0). */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, depth] = next;
    if (typeof node !== 'object' || node === null) continue;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return deepest;
}

/** `object`, or its identity alone with an annotation saying why, when it is too deep for a file. */
export function forSnapshotFile(object: KubeObject): { object: KubeObject; omitted: boolean } {
  if (jsonDepth(object) <= MAX_SNAPSHOT_DEPTH) return { object, omitted: false };
  const metadata = object.metadata ?? {};
  return {
    omitted: true,
    object: {
      ...(object.apiVersion === undefined ? {} : { apiVersion: object.apiVersion }),
      ...(object.kind === undefined ? {} : { kind: object.kind }),
      metadata: {
        ...metadata,
        annotations: {
          ...(metadata.annotations ?? {}),
          [CONTENT_OMITTED_ANNOTATION]: `nested deeper than ${MAX_SNAPSHOT_DEPTH} levels`,
        },
      },
    },
  };
}
