// The decision core: one admission request, one policy snapshot and the facts the shell
// looked up go in; one verdict comes out. Pure: no I/O, no clock, no globals.

import type { AdmissionRequest } from '../admission/types.ts';
import type { PolicySnapshot } from '../policy/compiled.ts';
import { evaluateImages } from '../rules/images/evaluate.ts';
import { evaluateImmutability } from '../rules/immutability/evaluate.ts';
import { evaluateNamespaceClaim } from '../rules/immutability/namespace-marks.ts';
import { evaluateImagesMarkRelease, evaluateMarkedRelabel } from '../rules/images/images-mark.ts';
import { evaluateDeletionGuards } from '../rules/guards/evaluate.ts';
import { evaluateUnlistableLock } from '../rules/guards/unlistable-lock.ts';
import { evaluatePolicyAuthorship } from '../rules/governance/authorship.ts';
import { evaluateNamespaceLabels } from '../rules/governance/namespace-labels.ts';
import { evaluatePolicyGovernance } from '../rules/governance/policy-change.ts';
import { evaluatePolicyValidation } from '../rules/policies/evaluate.ts';
import { evaluateUnlockRequest } from '../rules/unlock/validate.ts';
import type { RequestFacts } from '../decision/facts.ts';
import { combine, deny, type Verdict } from '../decision/verdict.ts';

export interface ReviewInput {
  request: AdmissionRequest;
  snapshot: PolicySnapshot;
  facts?: RequestFacts;
}

type Rule = (request: AdmissionRequest, snapshot: PolicySnapshot, facts: RequestFacts) => Verdict;

/** Every rule, in evaluation order; each decides for itself whether the request concerns it. */
const RULES: readonly Rule[] = [
  evaluatePolicyValidation,
  evaluatePolicyAuthorship,
  evaluatePolicyGovernance,
  evaluateNamespaceLabels,
  evaluateMarkedRelabel,
  evaluateImagesMarkRelease,
  evaluateUnlockRequest,
  evaluateImmutability,
  evaluateNamespaceClaim,
  evaluateDeletionGuards,
  evaluateUnlistableLock,
  evaluateImages,
];

/** Seconds a client is asked to wait before retrying while policies are being read. */
export const UNSYNCED_RETRY_SECONDS = 2;

/**
 * Before every policy source has been read (at start, and again after a watch broke and
 * did not resume within the resync grace), nothing is decided: every request is denied
 * with 503 and a retry hint. Within the grace the last complete state still decides: a
 * resumed watch delivers what it missed, so the grace only delays a change the way watch
 * latency does, while a refusal would block every legitimate write (a CRD update ends
 * every watch on it). Deciding "what does not depend on policies" would mean proving, rule by
 * rule, what an unread ImagePolicy, ImmutabilityPolicy, namespace label or UnlockRequest
 * could change, and almost everything Bulwark is sent depends on one of them (pods on
 * ImagePolicies, locked objects on ImmutabilityPolicies and UnlockRequests). The window
 * is short, the apiserver's Service routing would not send traffic to an unready replica
 * anyway, kube-system and Bulwark's own namespace are never sent here, and clients
 * retry a 503 that carries Retry-After.
 */
function notSynced(snapshot: PolicySnapshot): Verdict {
  const reason =
    snapshot.lost.length > 0
      ? `bulwark lost its watch on ${snapshot.lost.join(', ')} and has not re-synced; ` +
        `it refuses every request until it has; retry in a few seconds`
      : `bulwark is starting: policies not yet synced ` +
        `(pending: ${snapshot.pending.join(', ') || 'unknown'}); retry in a few seconds`;
  const verdict = deny('startup', reason, { decision: 'deny', reason });
  return { ...verdict, failure: { code: 'NOT_SYNCED', retryAfterSeconds: UNSYNCED_RETRY_SECONDS } };
}

export function reviewRequest({ request, snapshot, facts = {} }: ReviewInput): Verdict {
  if (!snapshot.synced) return notSynced(snapshot);
  const verdict = combine(RULES.map((rule) => rule(request, snapshot, facts)));
  verdict.auditAnnotations.decision = !verdict.allowed
    ? 'deny'
    : verdict.outcomes.some((o) => o.decision === 'unlocked')
      ? 'unlocked'
      : verdict.warnings.length > 0
        ? 'warn'
        : 'allow';
  if (!verdict.allowed) verdict.auditAnnotations.reason = verdict.reasons.join('; ');
  return verdict;
}
