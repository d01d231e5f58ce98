// The decision core: one admission request, one policy snapshot and the facts the shell
// looked up go in; one verdict comes out. Pure: no I/O, no clock, no globals.

import type { AdmissionRequest } from '../admission/types.ts';
import type { PolicySnapshot } from '../policy/compiled.ts';
import { evaluateImages } from '../rules/images/evaluate.ts';
import { evaluateImmutability } from '../rules/immutability/evaluate.ts';
import { evaluateDeletionGuards } from '../rules/guards/evaluate.ts';
import { evaluatePolicyAuthorship } from '../rules/governance/authorship.ts';
import { evaluateNamespaceLabels } from '../rules/governance/namespace-labels.ts';
import { evaluatePolicyGovernance } from '../rules/governance/policy-change.ts';
import { evaluatePolicyValidation } from '../rules/policies/evaluate.ts';
import { evaluateUnlockRequest } from '../rules/unlock/validate.ts';
import type { RequestFacts } from './facts.ts';
import { combine, type Verdict } from './verdict.ts';

export interface ReviewInput {
  request: AdmissionRequest;
  snapshot: PolicySnapshot;
  facts?: RequestFacts;
}

type Rule = (request: AdmissionRequest, snapshot: PolicySnapshot, facts: RequestFacts) => Verdict;

/** Every rule, in evaluation order; each decides for itself whether the request concerns it. */
const RULES: readonly Rule[] = [
  evaluatePolicyValidation, evaluatePolicyAuthorship, evaluatePolicyGovernance, evaluateNamespaceLabels,
  evaluateUnlockRequest, evaluateImmutability, evaluateDeletionGuards, evaluateImages,
];

export function reviewRequest({ request, snapshot, facts = {} }: ReviewInput): Verdict {
  const verdict = combine(RULES.map((rule) => rule(request, snapshot, facts)));
  verdict.auditAnnotations.decision = !verdict.allowed ? 'deny'
    : verdict.outcomes.some((o) => o.decision === 'unlocked') ? 'unlocked'
      : verdict.warnings.length > 0 ? 'warn' : 'allow';
  if (!verdict.allowed) verdict.auditAnnotations.reason = verdict.reasons.join('; ');
  return verdict;
}
