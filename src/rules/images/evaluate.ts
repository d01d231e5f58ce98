// The image rule (pure): every image a request adds must be pinned by digest and
// verified by each ImagePolicy that matches it. Verification itself happened in the
// shell; this reads the results (facts) and turns them into a verdict with messages
// that name the image, its field and the cause.

import type { AdmissionRequest } from '../../admission/types.ts';
import type { RequestFacts, VerificationFailure, VerificationResult } from '../../decision/facts.ts';
import { allow, byPolicy, combine, deny, enforce, type Verdict } from '../../decision/verdict.ts';
import type { CompiledImagePolicy, PolicySnapshot } from '../../policy/compiled.ts';
import { attestationProblems } from './attestations.ts';
import type { ImageUse } from './extract.ts';
import { planImages, type ImageCheck } from './plan.ts';
import { pinned, repositoryName } from './reference.ts';
import { taskKey } from './verification.ts';

export const RULE = 'images';

const FAILURE_TEXT: Record<VerificationFailure, string> = {
  unsigned: 'has no cosign signature and is not on an approved-digest list',
  'not-genuine': 'has a signature that is not genuine: it does not verify with the trusted key',
  'untrusted-signer': 'is signed, but by a key the policy does not trust',
  'wrong-digest': 'has a signature that was made for a different digest',
  'registry-error': 'could not be verified: the registry failed',
  'too-few-signers': 'is not signed off by enough of the signers the policy requires',
  timeout: 'could not be verified in time',
  configuration: "could not be verified: the policy's key or credentials are unavailable",
};

function describe(check: ImageCheck): string {
  return `image ${JSON.stringify(check.use.image)} (${check.use.path})`;
}

function pinHint(check: ImageCheck, facts: RequestFacts): string {
  const ref = check.reference!;
  const now = facts.images?.tagDigests.get(check.use.image);
  if (now && 'digest' in now) return `pin it by digest: ${pinned(ref, now.digest)} (where the tag points now)`;
  return `pin it by digest, ${repositoryName(ref)}@sha256:<digest> (find it with \`crane digest ${check.use.image}\`)`;
}

/** Failures that say nothing about the image: the registry, a Secret or the deadline failed. */
const UNVERIFIABLE: ReadonlySet<VerificationFailure> = new Set(['registry-error', 'timeout', 'configuration']);

/** One image (or, for an invalid policy, every image) judged by one policy, as admission judges it. */
export interface ImageJudgement {
  verdict: Verdict;
  /** The image concerned; absent for a namespace-wide invalid policy. */
  use?: ImageUse;
  /** A denial that says nothing about the image: it could not be verified (registry, Secret, deadline). */
  unverifiable: boolean;
}

const judged = (verdict: Verdict, unverifiable = false, use?: ImageUse): ImageJudgement => ({
  verdict,
  unverifiable,
  ...(use ? { use } : {}),
});

function verdictFor(check: ImageCheck, policy: CompiledImagePolicy, facts: RequestFacts): ImageJudgement {
  const { use } = check;
  const ref = check.reference!;
  const annotations = { 'image-policy': policy.name };
  let digest = ref.digest;
  if (!digest) {
    if (policy.requireDigest)
      return judged(
        enforce(
          RULE,
          `${describe(check)} is not pinned by digest, which ` +
            `ImagePolicy ${policy.name} requires: ${pinHint(check, facts)}`,
          policy.enforcement,
          annotations,
        ),
        false,
        use,
      );
    const now = facts.images?.tagDigests.get(check.use.image);
    if (!now || 'error' in now)
      return judged(
        enforce(
          RULE,
          `${describe(check)}: cannot resolve its tag to a digest for ` +
            `ImagePolicy ${policy.name}: ${now && 'error' in now ? now.error : 'not looked up'}`,
          policy.enforcement,
          annotations,
        ),
        true,
        use,
      );
    digest = now.digest;
  }
  const result: VerificationResult | undefined = facts.images?.verifications.get(
    taskKey({ image: { ...ref, digest }, policy, pullSecrets: [] }),
  );
  if (!result)
    return judged(
      deny(
        RULE,
        `${describe(check)}: no verification result for ImagePolicy ${policy.name} (internal error; denied to be safe)`,
      ),
      true,
      use,
    );
  const unattested = result.ok ? attestationProblems(policy, result.attestations, facts.now) : undefined;
  if (unattested)
    return judged(
      enforce(RULE, `${describe(check)} ${unattested} (ImagePolicy ${policy.name})`, policy.enforcement, annotations),
      false,
      use,
    );
  if (result.ok) {
    const verified = `${policy.name}: ${result.detail}`;
    return judged(
      { ...allow(RULE), auditAnnotations: { [`image-verified-${check.use.container}`.slice(0, 63)]: verified } },
      false,
      use,
    );
  }
  return judged(
    enforce(
      RULE,
      `${describe(check)} ${FAILURE_TEXT[result.failure]} (ImagePolicy ${policy.name}): ${result.reason}`,
      policy.enforcement,
      annotations,
    ),
    UNVERIFIABLE.has(result.failure),
    use,
  );
}

/**
 * Every judgement admission makes of a request's images, one per image and policy (and one
 * per invalid policy); undefined when no policy applies to them. The running-pod audit
 * (ledger/running-pods.ts) reads them one by one; admission combines them.
 */
export function judgeImages(
  request: AdmissionRequest,
  snapshot: PolicySnapshot,
  facts: RequestFacts,
): ImageJudgement[] | undefined {
  const plan = planImages(request, snapshot, facts.namespaceLabels);
  if (plan.checks.length === 0) return undefined;
  const judgements: ImageJudgement[] = [];
  for (const policy of plan.invalid) {
    const why =
      `ImagePolicy ${policy.name} is invalid, so no image in namespace ${request.namespace ?? ''} can be ` +
      `verified: ${policy.invalid}`;
    judgements.push(judged(deny(RULE, why), true));
  }
  for (const check of plan.checks) {
    if (check.problem) {
      judgements.push(judged(deny(RULE, `${describe(check)}: ${check.problem}`), false, check.use));
      continue;
    }
    if (check.policies.length === 0) {
      const denying = plan.denyUnmatched;
      if (denying.length > 0) {
        const why =
          `${describe(check)} matches no ImagePolicy, ` +
          `and ${denying.map((p) => p.name).join(', ')} ${denying.length > 1 ? 'deny' : 'denies'} unmatched ` +
          `images in namespace ${request.namespace ?? ''}`;
        judgements.push(judged(deny(RULE, why), false, check.use));
      }
      continue;
    }
    for (const policy of check.policies) {
      const one = verdictFor(check, policy, facts);
      judgements.push({ ...one, verdict: byPolicy(one.verdict, policy.name) });
    }
  }
  return judgements;
}

export function evaluateImages(request: AdmissionRequest, snapshot: PolicySnapshot, facts: RequestFacts): Verdict {
  const judgements = judgeImages(request, snapshot, facts);
  if (!judgements) return allow(RULE, 'skip');
  return judgements.length > 0 ? combine(judgements.map((j) => j.verdict)) : allow(RULE);
}
