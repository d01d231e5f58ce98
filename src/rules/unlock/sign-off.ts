// What may change in an UnlockRequest after it is created (pure): one entry appended to
// spec.approvals or to spec.rejections, in the name of the user making the update, with the
// groups the API server reports for them; nothing else. Both lists are append-only, so an
// approval cannot be withdrawn to make room and a rejection cannot be erased.

import type { AdmissionRequest, KubeObject } from '../../admission/types.ts';
import { humanPath, isUnderPointer } from '../../diff/pointer.ts';
import { semanticChanges } from '../../diff/semantic-diff.ts';
import { unlockName, type CompiledUnlock } from '../../policy/compile-unlock.ts';
import { isEmergency, type ApprovalRule } from './approvals.ts';

export type SignOffKind = 'approval' | 'rejection' | 'review';

export const SIGN_OFF_LISTS: Record<SignOffKind, 'approvals' | 'rejections' | 'reviews'> = {
  approval: 'approvals',
  rejection: 'rejections',
  review: 'reviews',
};

export interface SignOff {
  kind: SignOffKind;
  user: string;
  groups?: unknown;
  /** The entry as written, attestation included. */
  stored: Readonly<Record<string, unknown>>;
}

export const SIGN_OFF_VERBS: Record<SignOffKind, string> = {
  approval: 'approve',
  rejection: 'reject',
  review: 'review',
};

const article = (kind: SignOffKind) => (kind === 'approval' ? 'an approval' : `a ${kind}`);

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
  const lists = Object.values(SIGN_OFF_LISTS).map((l) => `/spec/${l}`);
  const other = semanticChanges(oldObject, newObject).filter((c) => !lists.some((l) => isUnderPointer(c.path, l)));
  if (other.length > 0) {
    const paths = other.slice(0, 5).map((c) => humanPath(c.path));
    return {
      refused:
        'only spec.approvals, spec.rejections and spec.reviews may change after an UnlockRequest is created; ' +
        `this update changes ${paths.join(', ')}`,
    };
  }
  const added: SignOff[] = [];
  for (const kind of ['approval', 'rejection', 'review'] as const) {
    const list = SIGN_OFF_LISTS[kind];
    const before = entriesOf(oldObject, list);
    const after = entriesOf(newObject, list);
    if (after.length < before.length || before.some((a, i) => JSON.stringify(a) !== JSON.stringify(after[i])))
      return { refused: `${list} are append-only: existing ${list} cannot be changed or removed` };
    for (const entry of after.slice(before.length))
      added.push({ kind, user: entry.user, groups: entry.groups, stored: entry });
  }
  if (added.length === 0) return 'none';
  if (added.length > 1) return { refused: 'add exactly one approval, rejection or review per update, your own' };
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
      `kubectl bulwark unlock ${SIGN_OFF_VERBS[kind]} does this)`
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

/**
 * Who may add this kind of entry, besides being an approver under every governing rule
 * (checked by the caller): nobody twice; the requester approves only an emergency unlock whose
 * every policy allows self-approval; reviews are of emergency unlocks, by others than the requester.
 */
export function signOffProblem(
  kind: SignOffKind,
  user: string,
  before: CompiledUnlock,
  rules: readonly ApprovalRule[],
): string | undefined {
  if (kind === 'approval') {
    if (user === before.requester) {
      const self = isEmergency(before, rules) && rules.every((r) => r.unlock.emergency?.selfApproval);
      if (!self) return `${user} requested this unlock and cannot approve it`;
      if (before.selfApproval) return `${user} has already approved this request`;
    }
    if (before.approvers.includes(user)) return `${user} has already approved this request`;
  }
  if (kind === 'rejection' && before.rejections.some((r) => r.user === user))
    return `${user} has already rejected this request`;
  if (kind === 'review') {
    if (!before.emergency) return `${unlockName(before)} is not an emergency unlock: there is nothing to review`;
    if (user === before.requester) return `${user} requested this emergency unlock and cannot review it`;
    if (before.reviews.some((r) => r.user === user)) return `${user} has already reviewed this request`;
  }
  return undefined;
}
