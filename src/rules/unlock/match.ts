// Whether an approved, unexpired UnlockRequest lifts the lock for this exact request:
// same target (looked up by the shell), the operation listed, not expired at the
// request's time, when bound to a change exactly that change, and, re-checked against the
// policies in force now, no longer than they allow and with as many approvals that still
// count as they require. Removing or changing the lock label needs `Unlabel` (or a bound
// patch that does it): a short UPDATE unlock must not become a permanent one.

import jsonPatch from 'fast-json-patch';
import type { KubeObject } from '../../admission/types.ts';
import { cloneJson } from '../../json/clone.ts';
import { formatDuration } from '../../policy/duration.ts';
import { semanticChanges } from '../../diff/semantic-diff.ts';
import {
  approvalsRequired,
  countedApprovals,
  rollbackApprovalsRequired,
  rulesForUnlock,
  shortestMaximum,
  type ApprovalRule,
} from './approvals.ts';
import { unlockName, type CompiledUnlock, type PatchOperation } from '../../policy/compile-unlock.ts';
import type { ApprovalTrust } from '../../attestation/approval.ts';
import { rollbackProblem, type SealedStates } from './rollback.ts';

export interface UnlockDemand {
  operation: 'UPDATE' | 'DELETE';
  /** The update removes or changes the lock label. */
  unlabels?: boolean;
  /** The update changes something besides the lock label (default true). */
  changesContent?: boolean;
  /** The unlock rules of the policies governing the target now. */
  rules: readonly ApprovalRule[];
  now: number;
  oldObject?: KubeObject;
  newObject?: KubeObject;
  /** Who makes the change: a policy with unlock.requesterOnly lets only the requester (or named subjects) use it. */
  user?: { username?: string | undefined; groups?: readonly string[] | undefined };
  /** Bulwark's attestation keys (the snapshot's): only approvals attested with them count. */
  keys: ApprovalTrust;
  /**
   * The drift audit judging a change afterwards: it keeps no old content, so a patch-bound
   * unlock is taken as covering the change (README, known limits), the patch unchecked.
   */
  afterwards?: boolean;
  /** The target's sealed states, for an UnlockRequest that is a rollback. */
  sealedStates?: SealedStates;
}

/** Why this user may not use the unlock under a rule with requesterOnly; undefined when they may. */
function bindingProblem(unlock: CompiledUnlock, demand: UnlockDemand): string | undefined {
  const username = demand.user?.username;
  for (const rule of demand.rules) {
    const only = rule.unlock.requesterOnly;
    if (!only || username === unlock.requester) continue;
    if (username !== undefined && only.users.has(username)) continue;
    if ((demand.user?.groups ?? []).some((g) => only.groups.has(g))) continue;
    return (
      `only its requester ${unlock.requester}${describeSubjects(only)} may use it ` +
      `(${rule.source} sets unlock.requesterOnly), not ${username ?? 'an unknown user'}`
    );
  }
  return undefined;
}

function describeSubjects(s: { users: ReadonlySet<string>; groups: ReadonlySet<string> }): string {
  const named = [...[...s.users].map((u) => `user ${u}`), ...[...s.groups].map((g) => `group ${g}`)];
  return named.length > 0 ? ` (or ${named.join(', ')})` : '';
}

export type UnlockMatch =
  | { ok: true; unlock: CompiledUnlock; approvers: readonly string[] }
  | { ok: false; why: string[] };

/** True when applying `patch` to the old object gives the new one, bookkeeping aside. */
export function makesExactly(patch: readonly PatchOperation[], oldObject: KubeObject, newObject: KubeObject): boolean {
  let patched: KubeObject;
  try {
    patched = jsonPatch.applyPatch(cloneJson(oldObject), patch as jsonPatch.Operation[], true, true).newDocument;
  } catch {
    return false;
  }
  return semanticChanges(patched, newObject).length === 0;
}

function operationProblem(unlock: CompiledUnlock, demand: UnlockDemand): string | undefined {
  const ops = unlock.operations;
  if (unlock.rollbackTo !== undefined) {
    if (demand.operation !== 'UPDATE' || !ops.has('UPDATE')) return 'it unlocks only a rollback (an UPDATE)';
    const problem = rollbackProblem(unlock.rollbackTo, demand.sealedStates, demand.newObject);
    if (problem) return problem;
  }
  if (demand.operation === 'DELETE') return ops.has('DELETE') ? undefined : 'it does not unlock DELETE';
  if (unlock.patch) {
    // Approvers signed off this exact patch; if it removes the label, they saw that.
    if (!ops.has('UPDATE') && !ops.has('Unlabel')) return 'it does not unlock UPDATE';
    if (demand.afterwards) return undefined;
    if (!demand.oldObject || !demand.newObject || !makesExactly(unlock.patch, demand.oldObject, demand.newObject))
      return 'this update is not the change it was approved for';
    return undefined;
  }
  if ((demand.changesContent ?? true) && !ops.has('UPDATE')) return 'it does not unlock UPDATE';
  if (demand.unlabels && !ops.has('Unlabel')) {
    return (
      'it does not unlock Unlabel: removing or changing the lock label needs an UnlockRequest with ' +
      'operation Unlabel (or one bound to a --patch that removes it)'
    );
  }
  return undefined;
}

function whyNot(unlock: CompiledUnlock, demand: UnlockDemand): { why: string } | { approvers: string[] } {
  if (unlock.rejections.length > 0)
    return { why: `it was rejected by ${unlock.rejections.map((r) => r.user).join(', ')}` };
  const problem = operationProblem(unlock, demand);
  if (problem) return { why: problem };
  if (demand.now >= unlock.expiresAtMs) return { why: `it expired at ${new Date(unlock.expiresAtMs).toISOString()}` };
  const binding = bindingProblem(unlock, demand);
  if (binding) return { why: binding };
  const rules = rulesForUnlock(unlock, demand.rules);
  const shortest = shortestMaximum(rules);
  if (shortest && unlock.durationMs > shortest.maxDurationMs) {
    return {
      why:
        `it lasts ${formatDuration(unlock.durationMs)}, longer than ` +
        `the ${formatDuration(shortest.maxDurationMs)} ${shortest.rule.source} allows`,
    };
  }
  // A rollback to an earlier sealed state may need fewer approvals (unlock.rollbackApprovals).
  const required = unlock.rollbackTo !== undefined ? rollbackApprovalsRequired(rules) : approvalsRequired(rules);
  const { approvers, refused } = countedApprovals(unlock, rules, demand.keys);
  if (approvers.length < required) {
    return {
      why:
        `it has ${approvers.length} of the ${required} approvals it ` +
        `needs${refused.length > 0 ? ` (${refused.join('; ')})` : ''}`,
    };
  }
  return { approvers };
}

export function findUnlock(unlocks: readonly CompiledUnlock[], demand: UnlockDemand): UnlockMatch {
  const why: string[] = [];
  for (const unlock of unlocks) {
    const result = whyNot(unlock, demand);
    if ('approvers' in result) return { ok: true, unlock, approvers: result.approvers };
    why.push(`${unlockName(unlock)}: ${result.why}`);
  }
  return { ok: false, why };
}

/** The audit annotations of a change an unlock let through: who asked, who agreed, and the ticket. */
export function unlockAnnotations(match: UnlockMatch & { ok: true }): Record<string, string> {
  const { unlock, approvers } = match;
  return {
    'unlock-request': unlock.namespace ? `${unlock.namespace}/${unlock.name}` : unlock.name,
    ...(unlock.kind !== 'UnlockRequest' ? { 'unlock-request-kind': unlock.kind } : {}),
    'unlock-approvers': approvers.join(','),
    'unlock-requester': unlock.requester,
    ...(unlock.ticket ? { 'unlock-ticket': unlock.ticket } : {}),
    ...(unlock.emergency ? { 'unlock-emergency': 'true' } : {}),
    ...(unlock.rollbackTo !== undefined ? { 'unlock-rollback': unlock.rollbackTo } : {}),
  };
}

/** An emergency unlock is loud: a warning on every change it lets through, besides the audit annotation. */
export function emergencyWarnings(match: UnlockMatch & { ok: true }): string[] {
  const { unlock } = match;
  return unlock.emergency
    ? [
        `EMERGENCY unlock: ${unlockName(unlock)} (requested by ${unlock.requester}) is an emergency unlock; ` +
          `approvers must review it afterwards (kubectl bulwark unlock review ${unlock.name}` +
          `${unlock.namespace ? ` -n ${unlock.namespace}` : ''})`,
      ]
    : [];
}
