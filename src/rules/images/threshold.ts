// k of n signers (pure): each authority of an ImagePolicy has been judged on its own
// (a key against every signature found, in both cosign formats; or an approved-digest
// list); this combines those outcomes with the policy's threshold and required names.
//
// Each signer counts once: an authority passes once however many signatures it made
// (legacy and bundle alike), and authorities that resolve to the same key (two Secrets
// holding one key) count once between them. The denial says who signed, who is missing
// and how many more are needed.

import type { VerificationFailure, VerificationResult } from '../../decision/facts.ts';
import type { CompiledImagePolicy } from '../../policy/compiled.ts';

export type AuthorityOutcome =
  | { authority: string; ok: true; detail: string /** The key's identity, to count it once. */; signer?: string }
  | { authority: string; ok: false; failure: VerificationFailure; reason: string };

type Failed = Extract<AuthorityOutcome, { ok: false }>;

const RANK: Record<VerificationFailure, number> = {
  timeout: 8,
  'wrong-digest': 7,
  'not-genuine': 6,
  'untrusted-signer': 5,
  'registry-error': 4,
  configuration: 3,
  'too-few-signers': 2,
  unsigned: 1,
};

const MAX_REASON = 1500;

function clip(reason: string): string {
  return reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1)}…` : reason;
}

function describeFailures(failed: readonly Failed[]): string {
  if (failed.length === 1) return failed[0]!.reason;
  return [...failed]
    .sort((a, b) => RANK[b.failure] - RANK[a.failure])
    .map((o) => `authority ${JSON.stringify(o.authority)}: ${o.reason}`)
    .join('; ');
}

/** The most informative failure first: wrong-digest > not-genuine > untrusted-signer > ... > unsigned. */
export function worstFailure(failed: readonly Failed[]): VerificationFailure {
  return [...failed].sort((a, b) => RANK[b.failure] - RANK[a.failure])[0]?.failure ?? 'unsigned';
}

/** Whether the outcomes so far already decide the policy (used to skip the registry for approved digests). */
export function thresholdMet(
  policy: Pick<CompiledImagePolicy, 'threshold' | 'required'>,
  passed: readonly string[],
): boolean {
  return passed.length >= policy.threshold && policy.required.every((r) => passed.includes(r));
}

/** Combines per-authority outcomes (one per authority, in policy order) into the policy's result. */
export function combineSigners(
  policy: Pick<CompiledImagePolicy, 'threshold' | 'required'>,
  outcomes: readonly AuthorityOutcome[],
): VerificationResult {
  const counted: Extract<AuthorityOutcome, { ok: true }>[] = [];
  const twins: string[] = [];
  for (const o of outcomes) {
    if (!o.ok) continue;
    const first = o.signer === undefined ? undefined : counted.find((c) => c.signer === o.signer);
    const same = o.signer?.startsWith('keyless:') ? 'identity' : 'key';
    if (first) twins.push(`${o.authority} (the same ${same} as ${first.authority}: counted once)`);
    else counted.push(o);
  }
  const passed = counted.map((c) => c.authority);
  const failed = outcomes.filter((o): o is Failed => !o.ok);
  const simple = policy.threshold === 1 && policy.required.length === 0;
  if (thresholdMet(policy, passed)) {
    if (simple) return { ok: true, authority: counted[0]!.authority, detail: counted[0]!.detail };
    return {
      ok: true,
      authority: passed.join(','),
      detail: `${passed.length} of ${outcomes.length} signers (threshold ${policy.threshold}): ${counted
        .map((c) => `${c.authority} (${c.detail})`)
        .join(', ')}`,
    };
  }
  if (outcomes.length === 0) return { ok: false, failure: 'unsigned', reason: 'the policy has no authorities' };
  if (simple) return { ok: false, failure: worstFailure(failed), reason: clip(describeFailures(failed)) };

  const missingRequired = policy.required.filter((r) => !passed.includes(r));
  const more = Math.max(policy.threshold - passed.length, missingRequired.length);
  const missing = outcomes.filter((o) => !passed.includes(o.authority)).map((o) => o.authority);
  const summary = [
    passed.length > 0 ? `signed by ${passed.join(', ')}` : 'signed by none of its signers',
    `missing ${missing.join(', ')}`,
    `${more} more needed (threshold ${policy.threshold} of ${outcomes.length}` +
      `${policy.required.length > 0 ? `, required: ${policy.required.join(', ')}` : ''})`,
    ...(missingRequired.length > 0 ? [`required ${missingRequired.join(', ')} did not sign`] : []),
    ...(twins.length > 0 ? [`not counted: ${twins.join(', ')}`] : []),
  ].join('; ');
  const detail = failed.length > 0 ? `. ${describeFailures(failed)}` : '';
  return {
    ok: false,
    // Nothing verified: the reason any one failed is the failure; some did: too few.
    failure: passed.length === 0 ? worstFailure(failed) : 'too-few-signers',
    reason: clip(`${summary}${detail}`),
  };
}
