// Bulwark validates its own policy objects at admission: schema and meaning (globs
// compile, keys parse, pointers and selectors are valid), answering with the field path
// of each problem, so `kubectl apply -f bad-policy.yaml` fails with a message to act on.

import type { AdmissionRequest } from '../../admission/types.ts';
import { allow, deny, type Verdict } from '../../decision/verdict.ts';
import type { PolicySnapshot } from '../../policy/compiled.ts';
import { POLICY_GROUP } from '../../policy/crds.ts';

export const RULE = 'policy-validation';

export function evaluatePolicyValidation(request: AdmissionRequest, snapshot: PolicySnapshot): Verdict {
  if (request.kind.group !== POLICY_GROUP || request.subResource !== undefined) return allow(RULE, 'skip');
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return allow(RULE, 'skip');
  const { compiler } = snapshot;
  const compile =
    request.kind.kind === 'ImmutabilityPolicy'
      ? compiler.immutability
      : request.kind.kind === 'ImagePolicy'
        ? compiler.image
        : undefined;
  if (!compile || !request.object) return allow(RULE, 'skip');
  const result = compile(request.object);
  if (result.ok) return allow(RULE);
  const problems = result.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
  return deny(
    RULE,
    `${request.kind.kind} ${request.object.metadata?.name ?? request.name ?? ''} is invalid: ${problems}`,
  );
}
