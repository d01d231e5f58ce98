// Which images of a request need what: parsed references, the ImagePolicies whose globs
// match each image (looked up in the snapshot's image index) and that apply in the
// namespace, those that deny whatever their globs say, and from that the verification
// tasks and tag lookups the I/O shell must run. Pure, and shared by the shell (to fetch
// facts) and the rule (to judge them), so both see the same plan.

import type { AdmissionRequest } from '../../admission/types.ts';
import type { CompiledImagePolicy, PolicySnapshot } from '../../policy/compiled.ts';
import { imagesToCheck, podSpecPath, type ImageUse } from './extract.ts';
import { parseImageReference, repositoryName, type ImageReference } from './reference.ts';
import type { VerificationTask } from './verification.ts';

export interface ImageCheck {
  use: ImageUse;
  reference?: ImageReference;
  /** Why the reference could not be parsed. */
  problem?: string;
  /** Policies whose globs match the image: every one must pass. */
  policies: readonly CompiledImagePolicy[];
}

export interface ImagePlan {
  checks: readonly ImageCheck[];
  /** Policies applying in the request's namespace that deny an image no policy matches (invalid ones do too). */
  denyUnmatched: readonly CompiledImagePolicy[];
  /** Policies applying in the namespace that are invalid: they deny every image they could apply to. */
  invalid: readonly CompiledImagePolicy[];
  pullSecrets: readonly { namespace: string; name: string }[];
}

const EMPTY: ImagePlan = { checks: [], denyUnmatched: [], invalid: [], pullSecrets: [] };

function pullSecretsOf(request: AdmissionRequest, specPath: readonly string[]): { namespace: string; name: string }[] {
  let spec: unknown = request.object;
  for (const key of specPath) spec = (spec as Record<string, unknown> | undefined)?.[key];
  const refs = (spec as { imagePullSecrets?: { name?: unknown }[] } | undefined)?.imagePullSecrets;
  if (!Array.isArray(refs) || !request.namespace) return [];
  return refs
    .filter((r) => typeof r?.name === 'string' && r.name !== '')
    .map((r) => ({ namespace: request.namespace!, name: String(r.name) }));
}

export function planImages(
  request: AdmissionRequest,
  snapshot: PolicySnapshot,
  namespaceLabels: Readonly<Record<string, string>> | undefined,
): ImagePlan {
  if (snapshot.images.length === 0) return EMPTY;
  const uses = imagesToCheck(request);
  if (uses.length === 0) return EMPTY;
  const namespace = request.namespace ?? '';
  // A namespace selector whose labels are unknown counts as applying: fail closed.
  const applies = (p: CompiledImagePolicy) => p.matchNamespace(namespace, namespaceLabels) !== 'no-match';
  const checks = uses.map((use): ImageCheck => {
    const parsed = parseImageReference(use.image);
    if (!parsed.ok) return { use, problem: parsed.problem, policies: [] };
    return {
      use,
      reference: parsed.reference,
      policies: snapshot.imageIndex.matching(repositoryName(parsed.reference)).filter(applies),
    };
  });
  const wide = snapshot.imageIndex.namespaceWide.filter(applies);
  // Images are judged where some policy applies. An image that cannot be parsed matches
  // no glob: it is denied where any policy applies at all (the only case that scans them).
  const judged =
    wide.length > 0 ||
    checks.some((c) => c.policies.length > 0) ||
    (checks.some((c) => c.problem) && snapshot.images.some(applies));
  if (!judged) return EMPTY;
  return {
    checks,
    denyUnmatched: wide.filter((p) => p.unmatchedImages === 'Deny'),
    invalid: wide.filter((p) => p.invalid !== undefined),
    pullSecrets: pullSecretsOf(request, podSpecPath(request) ?? []),
  };
}

/** Tag-only references under some policy: the shell looks up what they point at now. */
export function tagsToResolve(plan: ImagePlan): ImageReference[] {
  return plan.checks
    .filter((c) => c.reference && !c.reference.digest && c.policies.length > 0)
    .map((c) => c.reference!);
}

/** One task per (pinned image, matching policy) that needs a signature check. */
export function verificationTasks(
  plan: ImagePlan,
  digestOf: (ref: ImageReference) => string | undefined,
): VerificationTask[] {
  const tasks: VerificationTask[] = [];
  for (const check of plan.checks) {
    if (!check.reference) continue;
    const digest = check.reference.digest;
    for (const policy of check.policies) {
      const pinned = digest ?? (policy.requireDigest ? undefined : digestOf(check.reference));
      if (pinned) tasks.push({ image: { ...check.reference, digest: pinned }, policy, pullSecrets: plan.pullSecrets });
    }
  }
  return tasks;
}
