// What may change in an UnlockRequest after it is created (pure): one entry appended to
// spec.approvals or to spec.rejections, in the name of the user making the update, with the
// groups the API server reports for them; nothing else. Both lists are append-only, so an
// approval cannot be withdrawn to make room and a rejection cannot be erased.

import type { AdmissionRequest, KubeObject } from '../../admission/types.ts';
import { humanPath, isUnderPointer } from '../../diff/pointer.ts';
import { semanticChanges } from '../../diff/semantic-diff.ts';

export type SignOffKind = 'approval' | 'rejection';

export const SIGN_OFF_LISTS: Record<SignOffKind, 'approvals' | 'rejections'> = {
  approval: 'approvals',
  rejection: 'rejections',
};

export interface SignOff {
  kind: SignOffKind;
  user: string;
  groups?: unknown;
}

const article = (kind: SignOffKind) => (kind === 'approval' ? 'an approval' : 'a rejection');

type Entries = { user: string; groups?: unknown }[];
const entriesOf = (o: KubeObject, list: string): Entries =>
  ((o as { spec?: Record<string, unknown> }).spec?.[list] as Entries | undefined) ?? [];

/**
 * The one entry this update appends, 'none' when it changes nothing, or why it is refused.
 * Anything but one appended entry, in the updating user's name, is refused.
 */
export function appendedSignOff(request: AdmissionRequest): SignOff | 'none' | { refused: string } {
  const user = request.userInfo.username ?? '';
  const oldObject = request.oldObject!;
  const newObject = request.object!;
  const other = semanticChanges(oldObject, newObject).filter(
    (c) => !isUnderPointer(c.path, '/spec/approvals') && !isUnderPointer(c.path, '/spec/rejections'),
  );
  if (other.length > 0) {
    const paths = other.slice(0, 5).map((c) => humanPath(c.path));
    return {
      refused:
        'only spec.approvals and spec.rejections may change after an UnlockRequest is created; ' +
        `this update changes ${paths.join(', ')}`,
    };
  }
  const added: SignOff[] = [];
  for (const kind of ['approval', 'rejection'] as const) {
    const list = SIGN_OFF_LISTS[kind];
    const before = entriesOf(oldObject, list);
    const after = entriesOf(newObject, list);
    if (after.length < before.length || before.some((a, i) => JSON.stringify(a) !== JSON.stringify(after[i])))
      return { refused: `${list} are append-only: existing ${list} cannot be changed or removed` };
    for (const entry of after.slice(before.length)) added.push({ kind, user: entry.user, groups: entry.groups });
  }
  if (added.length === 0) return 'none';
  if (added.length > 1) return { refused: 'add exactly one approval or rejection per update, your own' };
  const entry = added[0]!;
  if (entry.user !== user)
    return {
      refused:
        `${article(entry.kind)} must name the user who makes it: you are ${user}, ` +
        `the ${entry.kind} names ${entry.user}`,
    };
  return entry;
}

/** The groups an entry records must be exactly those the API server reports for its author. */
export function groupsProblem(recorded: unknown, actual: readonly string[], kind: SignOffKind): string | undefined {
  if (!Array.isArray(recorded))
    return (
      `${article(kind)} must record your groups as the API server reports them ` +
      `(spec.${SIGN_OFF_LISTS[kind]}[].groups; ` +
      `kubectl bulwark unlock ${kind === 'approval' ? 'approve' : 'reject'} does this)`
    );
  const mine = new Set(actual);
  const theirs = new Set(recorded as string[]);
  if (mine.size !== theirs.size || [...mine].some((g) => !theirs.has(g))) {
    return (
      `the groups recorded with ${article(kind)} must be exactly yours (${[...mine].join(', ') || 'none'}), ` +
      `not ${[...theirs].join(', ') || 'none'}`
    );
  }
  return undefined;
}
