// Strictness of ImmutabilityPolicies as a partial order (pure). Q dominates P (Q is at
// least as strict) when every request Q lets through, P lets through too. Because every
// policy that governs an object must allow a request (the strictest wins), a set of
// governing policies B is not loosened by a change to set A exactly when every P in B is
// dominated by some Q in A. This is what decides whether a change of a policy or of a
// namespace's labels needs the same agreement as a change of the locked object itself.

import { rollbackApprovals, type CompiledImmutabilityPolicy, type UnlockRules } from './compiled.ts';
import { formatDuration } from './duration.ts';
import { isUnderPointer } from '../diff/pointer.ts';

const notIn = <T>(items: Iterable<T>, of: ReadonlySet<T> | undefined) => [...items].filter((i) => !of?.has(i));

function unlockLoosenings(q: UnlockRules, p: UnlockRules): string[] {
  const found: string[] = [];
  if (q.approvalsRequired < p.approvalsRequired)
    found.push(
      `need ${q.approvalsRequired} approval${q.approvalsRequired === 1 ? '' : 's'} instead of ${p.approvalsRequired}`,
    );
  // A rollback cheaper than Q's own changes (already said above when those got cheaper too).
  const [qRollback, pRollback] = [rollbackApprovals(q), rollbackApprovals(p)];
  if (qRollback < Math.min(pRollback, q.approvalsRequired))
    found.push(
      `let a rollback to a sealed state through with ${qRollback} approval${qRollback === 1 ? '' : 's'} ` +
        `instead of ${pRollback}`,
    );
  for (const g of notIn(q.approverGroups, p.approverGroups)) found.push(`let group ${g} approve unlocks`);
  for (const u of notIn(q.approverUsers ?? [], p.approverUsers)) found.push(`let user ${u} approve unlocks`);
  if (q.maxDurationMs > p.maxDurationMs)
    found.push(`allow unlocks of ${formatDuration(q.maxDurationMs)} instead of ${formatDuration(p.maxDurationMs)}`);
  return found;
}

/**
 * What Q lets through that P would not, as phrases that read after "would"
 * ("switch to Audit", "exempt group x"). Empty when Q dominates P. A policy that does not
 * enforce never denies, so anything dominates it.
 */
export function looseningsOf(q: CompiledImmutabilityPolicy, p: CompiledImmutabilityPolicy): string[] {
  if (p.enforcement !== 'Enforce') return [];
  const found: string[] = [];
  if (q.enforcement !== 'Enforce') found.push(`switch to ${q.enforcement}`);
  for (const op of notIn(p.operations, q.operations)) found.push(`stop locking ${op}`);
  for (const g of notIn(q.exempt.groups, p.exempt.groups)) found.push(`exempt group ${g}`);
  for (const u of notIn(q.exempt.users, p.exempt.users)) found.push(`exempt user ${u}`);
  for (const path of q.allowedPaths) {
    if (!p.allowedPaths.some((allowed) => isUnderPointer(path, allowed))) found.push(`let ${path} change`);
  }
  found.push(...unlockLoosenings(q.unlock, p.unlock));
  return found;
}

export function dominates(q: CompiledImmutabilityPolicy, p: CompiledImmutabilityPolicy): boolean {
  return looseningsOf(q, p).length === 0;
}

/** Anything with a name and a uid that can be compared for strictness. */
export interface Ranked {
  name: string;
  uid: string;
}

export type Loosenings<T> = (q: T, p: T) => string[];

const describeImmutability = (p: Ranked) =>
  p.uid === 'builtin' ? 'the built-in default' : `ImmutabilityPolicy ${p.name}`;

/**
 * How going from the governing set `before` to `after` loosens a protection: one sentence
 * per policy of `before` that nothing in `after` is as strict as. Empty when nothing is
 * loosened. `govern` is the verb for what a policy does to the protected thing.
 */
export function setLoosenings<T extends Ranked>(
  before: readonly T[],
  after: readonly T[],
  options: { loosenings: Loosenings<T>; describe: (p: T) => string; govern: string; deniesAnything: (p: T) => boolean },
): string[] {
  const { loosenings, describe, govern } = options;
  const sentences: string[] = [];
  for (const p of before) {
    // A policy that never denies protects nothing that could be lost.
    if (!options.deniesAnything(p) || after.some((q) => loosenings(q, p).length === 0)) continue;
    const successor = after.find((q) => q.uid === p.uid);
    if (successor) {
      sentences.push(`${describe(p)} would ${loosenings(successor, p).join(', ')}`);
      continue;
    }
    // The policy would no longer apply: name the closest of what would, and how it is looser.
    const closest = [...after].sort((a, b) => loosenings(a, p).length - loosenings(b, p).length)[0];
    const instead = closest ? `; in its place ${describe(closest)} would ${loosenings(closest, p).join(', ')}` : '';
    sentences.push(`${describe(p)} would no longer ${govern}${instead}`);
  }
  return sentences;
}

/** setLoosenings for the ImmutabilityPolicies (or built-in default) that govern one locked object. */
export function immutabilityLoosenings(
  before: readonly CompiledImmutabilityPolicy[],
  after: readonly CompiledImmutabilityPolicy[],
): string[] {
  return setLoosenings(before, after, {
    loosenings: looseningsOf,
    describe: describeImmutability,
    govern: 'govern it',
    deniesAnything: (p) => p.enforcement === 'Enforce',
  });
}
