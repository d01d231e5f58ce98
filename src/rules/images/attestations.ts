// Attestation conditions (pure): the shell verified which statements of each required
// predicate type the digest carries and who signed them; here each attestation of the
// policy must have one statement whose predicate meets every condition (CEL, compiled
// with the policy), judged at the request's time so that freshness holds on a cached
// verification too.

import type { AttestationFact } from '../../decision/facts.ts';
import type { CompiledAttestation, CompiledImagePolicy } from '../../policy/compiled.ts';

const MAX_PROBLEMS = 3;

function conditionText(c: CompiledAttestation['conditions'][number]): string {
  return c.message ? `${c.message} (${c.expression})` : c.expression;
}

function judgeOne(attestation: CompiledAttestation, fact: AttestationFact | undefined, now: Date): string | undefined {
  const found = fact?.found ?? [];
  if (found.length === 0) {
    const problems = fact?.problems ?? [];
    const more = problems.length > MAX_PROBLEMS ? `; and ${problems.length - MAX_PROBLEMS} more` : '';
    return (
      `has no attestation ${attestation.name} (${attestation.predicateType}) signed by ` +
      `${attestation.authorities.join(' or ')} for this digest` +
      (problems.length > 0 ? `: ${problems.slice(0, MAX_PROBLEMS).join('; ')}${more}` : '')
    );
  }
  const failures: string[] = [];
  for (const statement of found) {
    const failed = attestation.conditions
      .map((c) => ({ c, outcome: c.evaluate(statement.predicate, now) }))
      .find((x) => x.outcome !== true);
    if (!failed) return undefined;
    failures.push(
      `the one signed by ${statement.signer} (${statement.via}) fails ${conditionText(failed.c)}: ${failed.outcome}`,
    );
  }
  const listed = failures.slice(0, MAX_PROBLEMS).join('; ');
  return `has attestation ${attestation.name} (${attestation.predicateType}), but ${listed}`;
}

/** Undefined when every attestation the policy asks for holds, else what is wrong with each that does not. */
export function attestationProblems(
  policy: CompiledImagePolicy,
  facts: readonly AttestationFact[] | undefined,
  now: number | undefined,
): string | undefined {
  if (policy.attestations.length === 0) return undefined;
  // The core reads no clock: without the request time, conditions cannot be judged.
  if (now === undefined) return 'cannot judge its attestations: the request time is unknown (internal error)';
  const problems = policy.attestations
    .map((a) =>
      judgeOne(
        a,
        facts?.find((f) => f.name === a.name),
        new Date(now),
      ),
    )
    .filter((p): p is string => p !== undefined);
  return problems.length > 0 ? problems.join('; ') : undefined;
}
