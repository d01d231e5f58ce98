// The agreement a loosening change needs (pure): the same as for changing a locked
// object, an approved, unexpired UnlockRequest whose target is the object being changed
// (the policy, the Namespace), re-checked against today's rules. Without one the change is
// denied, naming what it would expose; with one it is allowed with a warning and audit
// annotations that say who agreed.

import type { AdmissionRequest, KubeObject } from '../../admission/types.ts';
import type { RequestFacts } from '../../decision/facts.ts';
import { deny, type Verdict } from '../../decision/verdict.ts';
import type { PolicySnapshot } from '../../policy/compiled.ts';
import { approvalRulesFor } from '../unlock/approval-rules.ts';
import { unlockName, type UnlockTarget } from '../../policy/compile-unlock.ts';
import { emergencyWarnings, findUnlock, unlockAnnotations } from '../unlock/match.ts';

/** At most this many exposed objects are named; the rest are counted. */
export const MAX_NAMED = 5;

export function listExposures(exposures: readonly string[]): string {
  const named = exposures.slice(0, MAX_NAMED).join('; ');
  return exposures.length > MAX_NAMED ? `${named}; and ${exposures.length - MAX_NAMED} more` : named;
}

export interface AgreementInput {
  rule: string;
  request: AdmissionRequest;
  snapshot: PolicySnapshot;
  facts: RequestFacts;
  /** The object being changed, as an UnlockRequest names it. */
  target: UnlockTarget;
  /** How Bulwark names it in messages: "ImmutabilityPolicy prod-config". */
  what: string;
  /** One sentence per loosened protection. */
  exposures: readonly string[];
}

const typed = (t: UnlockTarget) => `${t.kind.toLowerCase()}/${t.name}`;

export function requireAgreement(input: AgreementInput): Verdict {
  const { rule, request, snapshot, facts, target, what, exposures } = input;
  const write = request.operation === 'DELETE' ? 'deletion' : request.operation === 'CREATE' ? 'creation' : 'change';
  const summary =
    `${what}: this ${write} would loosen the protection of locked objects or verified images ` +
    `(${listExposures(exposures)})`;
  const unlocks = (facts.unlocks ?? []).filter(
    (u) =>
      u.target.group === target.group &&
      u.target.kind === target.kind &&
      u.target.namespace === target.namespace &&
      u.target.name === target.name,
  );
  const how =
    `A change that loosens protection needs an approved UnlockRequest for ${what} (kubectl bulwark ` +
    `unlock request ${typed(target)} --operation ${request.operation === 'DELETE' ? 'DELETE' : 'UPDATE'} --reason ...)`;
  if (unlocks.length === 0 || facts.now === undefined)
    return deny(rule, `${summary}. ${how}`, { [`${rule}-loosening`]: listExposures(exposures) });
  const old = request.oldObject ?? undefined;
  const match = findUnlock(unlocks, {
    operation: request.operation === 'DELETE' ? 'DELETE' : 'UPDATE',
    rules: approvalRulesFor(snapshot, target, old, undefined),
    now: facts.now,
    user: request.userInfo,
    keys: snapshot.attestation,
    ...(old && request.object ? { oldObject: old as KubeObject, newObject: request.object } : {}),
  });
  if (!match.ok)
    return deny(rule, `${summary}. ${how} (${match.why.join('; ')})`, {
      [`${rule}-loosening`]: listExposures(exposures),
    });
  const { unlock, approvers } = match;
  return {
    allowed: true,
    reasons: [],
    warnings: [
      `${summary}, and ${unlockName(unlock)} (requested by ${unlock.requester}, approved ` +
        `by ${approvers.join(', ')}) allows it until ${new Date(unlock.expiresAtMs).toISOString()}`,
      ...emergencyWarnings(match),
    ],
    auditAnnotations: {
      [`${rule}-loosening`]: listExposures(exposures),
      ...unlockAnnotations(match),
    },
    outcomes: [{ rule, decision: 'unlocked' }],
  };
}
