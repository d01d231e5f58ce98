// A verdict is what one rule (or the combination of all rules) concludes about a request.

import type { ErrorCode } from '../errors.ts';
import type { Enforcement } from '../policy/compiled.ts';

export interface Verdict {
  allowed: boolean;
  /** Why the request is denied; joined into the response message. Empty when allowed. */
  reasons: string[];
  /** Shown to the user by kubectl (response.warnings), on allow and deny alike. */
  warnings: string[];
  /** Recorded in the API server's audit log; keys are prefixed by the webhook name there. */
  auditAnnotations: Record<string, string>;
  /** Which rules had something to say, with their outcome: for metrics and logs. */
  outcomes: RuleOutcome[];
  /**
   * Set on a denial that is not a plain "no" (403 Forbidden): the error code whose HTTP
   * status answers it. NOT_SYNCED says "not now" (503, with a retry hint the apiserver
   * passes on to the client as Retry-After); DECISION_FAILED says "could not decide" (500).
   */
  failure?: { code: ErrorCode; retryAfterSeconds?: number };
}

/**
 * `exempt`: a policy let the request through because of who made it; `unlocked`: an
 * approved UnlockRequest did; `lifecycle`: deleting a locked object was its lifecycle
 * (already terminating, a controller's replica), not a change.
 */
export type Decision = 'allow' | 'deny' | 'warn' | 'audit' | 'exempt' | 'unlocked' | 'lifecycle' | 'skip';

export interface RuleOutcome {
  rule: string;
  decision: Decision;
  /** The policy that decided, where one did (for the optional policy label of the metrics). */
  policy?: string;
}

export function allow(rule: string, decision: Decision = 'allow'): Verdict {
  return { allowed: true, reasons: [], warnings: [], auditAnnotations: {}, outcomes: [{ rule, decision }] };
}

export function deny(rule: string, reason: string, auditAnnotations: Record<string, string> = {}): Verdict {
  return { allowed: false, reasons: [reason], warnings: [], auditAnnotations, outcomes: [{ rule, decision: 'deny' }] };
}

/**
 * Applies an enforcement mode to a rule's would-be denial: Enforce denies, Warn allows
 * with the reason as a warning kubectl prints, Audit allows and only records it.
 */
export function enforce(
  rule: string,
  reason: string,
  mode: Enforcement,
  auditAnnotations: Record<string, string> = {},
): Verdict {
  switch (mode) {
    case 'Enforce':
      return deny(rule, reason, auditAnnotations);
    case 'Warn':
      return {
        allowed: true,
        reasons: [],
        warnings: [reason],
        auditAnnotations: { ...auditAnnotations, [`${rule}-warn`]: reason },
        outcomes: [{ rule, decision: 'warn' }],
      };
    case 'Audit':
      return {
        allowed: true,
        reasons: [],
        warnings: [],
        auditAnnotations: { ...auditAnnotations, [`${rule}-audit`]: reason },
        outcomes: [{ rule, decision: 'audit' }],
      };
  }
}

/** The verdict, its outcomes attributed to `policy`. */
export function byPolicy(verdict: Verdict, policy: string): Verdict {
  return { ...verdict, outcomes: verdict.outcomes.map((o) => ({ ...o, policy })) };
}

/** Any deny wins; warnings, annotations and outcomes of every verdict are kept. */
export function combine(verdicts: readonly Verdict[]): Verdict {
  const result: Verdict = { allowed: true, reasons: [], warnings: [], auditAnnotations: {}, outcomes: [] };
  for (const v of verdicts) {
    result.allowed &&= v.allowed;
    result.reasons.push(...v.reasons);
    result.warnings.push(...v.warnings);
    Object.assign(result.auditAnnotations, v.auditAnnotations);
    result.outcomes.push(...v.outcomes);
  }
  return result;
}
