// The agreement a guarded update needs (pure): the CRD update guard and the APIService
// guard both let an update through that an approved, unexpired UnlockRequest for the
// guarded object itself (operation UPDATE; for a creation too) covers, approved as the
// policy admins' rule requires (see unlock/approval-rules.ts), re-checked at use.

import type { AdmissionRequest } from '../../admission/types.ts';
import type { RequestFacts } from '../../decision/facts.ts';
import type { Verdict } from '../../decision/verdict.ts';
import type { PolicySnapshot } from '../../policy/compiled.ts';
import { unlockName } from '../../policy/compile-unlock.ts';
import { approvalRulesFor } from '../unlock/approval-rules.ts';
import { emergencyWarnings, findUnlock, unlockAnnotations, type UnlockMatch } from '../unlock/match.ts';

/** The match of the UnlockRequests aimed at this cluster-scoped object; undefined when there are none. */
export function unlockForUpdate(
  request: AdmissionRequest,
  snapshot: PolicySnapshot,
  facts: RequestFacts,
  target: { group: string; kind: string },
): UnlockMatch | undefined {
  const name = request.name ?? '';
  const aimed = (facts.unlocks ?? []).filter(
    (u) =>
      u.target.group === target.group &&
      u.target.kind === target.kind &&
      u.target.namespace === undefined &&
      u.target.name === name,
  );
  if (aimed.length === 0 || facts.now === undefined || !request.object) return undefined;
  const old = request.oldObject ?? undefined;
  return findUnlock(aimed, {
    operation: 'UPDATE',
    rules: approvalRulesFor(snapshot, { ...target, name }, old, undefined),
    now: facts.now,
    user: request.userInfo,
    keys: snapshot.attestation,
    ...(old ? { oldObject: old, newObject: request.object } : {}),
  });
}

/** The allowed verdict an unlock gives a guarded update, with a warning that says who agreed. */
export function unlockedVerdict(rule: string, what: string, match: UnlockMatch & { ok: true }): Verdict {
  const { unlock, approvers } = match;
  return {
    allowed: true,
    reasons: [],
    warnings: [
      `${what} is guarded while it holds locked objects, but ${unlockName(unlock)} (requested ` +
        `by ${unlock.requester}, approved by ${approvers.join(', ')}) allows this update ` +
        `until ${new Date(unlock.expiresAtMs).toISOString()}`,
      ...emergencyWarnings(match),
    ],
    auditAnnotations: {
      ...unlockAnnotations(match),
    },
    outcomes: [{ rule, decision: 'unlocked' }],
  };
}
