// Denial messages a person reads at a glance: which object, which fields, bounded length.

import type { AdmissionRequest, KubeObject } from '../../admission/types.ts';
import type { LockLabel } from '../../policy/compiled.ts';
import type { Change } from '../../diff/semantic-diff.ts';
import { encodePointerSegment, humanPath, isUnderPointer } from '../../diff/pointer.ts';

/** At most this many paths are named; the rest are counted. */
export const MAX_NAMED_PATHS = 8;
/** A single path longer than this (say a 250-character data key) is shortened. */
const MAX_PATH_LENGTH = 120;

function shorten(text: string): string {
  return text.length <= MAX_PATH_LENGTH ? text : `${text.slice(0, MAX_PATH_LENGTH - 1)}…`;
}

export function describeTarget(request: AdmissionRequest, locked: KubeObject): string {
  const kind = locked.kind ?? request.kind.kind;
  const name = locked.metadata?.name ?? request.name ?? '(unnamed)';
  // The object's own namespace: a Namespace request carries its name in request.namespace too.
  const namespace = locked.metadata ? locked.metadata.namespace : request.namespace;
  return `${kind} ${namespace ? `${namespace}/` : ''}${name}`;
}

/** Whether a change at `path` can touch the lock label (the label itself, or everything around it). */
export function touchesLockLabel(path: string, label: LockLabel): boolean {
  return (
    isUnderPointer(path, `/metadata/labels/${encodePointerSegment(label.key)}`) ||
    path === '/metadata/labels' ||
    path === '/metadata' ||
    path === ''
  );
}

export function describeChanges(changes: readonly Change[], label: LockLabel): string {
  const touchesLabel = changes.some((c) => touchesLockLabel(c.path, label));
  // A truncated list (see diff/semantic-diff.ts) ends with a marker: there are more than were counted.
  const listed = changes.filter((c) => !c.truncated);
  const rest = listed.length - MAX_NAMED_PATHS;
  const named = listed.slice(0, MAX_NAMED_PATHS).map((c) => `${shorten(humanPath(c.path))} (${c.kind})`);
  const more =
    listed.length < changes.length
      ? rest > 0
        ? ` and more than ${rest} more`
        : ' and more'
      : rest > 0
        ? ` and ${rest} more`
        : '';
  const unlock = touchesLabel
    ? `; removing or changing the ${label.key} label is itself a change: a lock cannot be lifted by editing the ` +
      `object, only by an UnlockRequest with operation Unlabel`
    : '';
  return `${named.join(', ')}${more}${unlock}`;
}
