// The images mark must never be a window (see rules/immutability/namespace-marks.ts): the
// chart's images entry skips namespaces marked `bulwark.dev/images: none`, so an ImagePolicy
// must never apply to a namespace that still carries the mark. Two ways could make one apply:
// - an ImagePolicy is created or widened: before it is admitted, the shell removes the mark
//   from every namespace the new policy matches (cluster/images-mark-release.ts), and this
//   rule denies the policy if any removal failed;
// - a namespace is relabelled into a policy's selector (or given the mark while a policy
//   matches it): denied unless the mark goes in the same change. This also stops the audit
//   loop from marking over a release with a stale snapshot.
// The locks mark needs no such rule: a lock is per object and always claims its namespace
// on its own admission (namespace-claim.ts), whatever the namespace's labels say.

import type { AdmissionRequest } from '../../admission/types.ts';
import type { RequestFacts } from '../../decision/facts.ts';
import { allow, deny, type Verdict } from '../../decision/verdict.ts';
import type { CompiledImagePolicy, PolicySnapshot } from '../../policy/compiled.ts';
import { POLICY_GROUP } from '../../policy/crds.ts';
import type { Labels } from '../../policy/selector.ts';
import { isNamespaceRelabel } from '../governance/namespace-labels.ts';
import { IMAGES_MARK, MARK_NONE } from '../immutability/namespace-marks.ts';

export const RULE = 'images-mark';

export interface NamespaceLabels {
  name: string;
  labels: Readonly<Record<string, string>>;
}

const marked = (labels: Labels | undefined) => labels?.[IMAGES_MARK] === MARK_NONE;
const applies = (policy: CompiledImagePolicy, namespace: string, labels: Labels) =>
  policy.matchNamespace(namespace, labels) !== 'no-match';

/** The ImagePolicy a request stores (CREATE or UPDATE, not a subresource), compiled; else undefined. */
function storedImagePolicy(request: AdmissionRequest, snapshot: PolicySnapshot): CompiledImagePolicy | undefined {
  if (request.kind.group !== POLICY_GROUP || request.kind.kind !== 'ImagePolicy') return undefined;
  if (request.subResource !== undefined || !request.object) return undefined;
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return undefined;
  const result = snapshot.compiler.image(request.object);
  // An invalid policy is denied by policy-validation; it will never apply.
  return result.ok ? result.policy : undefined;
}

/** The marked namespaces an ImagePolicy write would start to apply to: their marks must go first. */
export function marksToRelease(
  request: AdmissionRequest,
  snapshot: PolicySnapshot,
  namespaces: Iterable<NamespaceLabels>,
): string[] {
  const policy = storedImagePolicy(request, snapshot);
  if (!policy) return [];
  const names: string[] = [];
  for (const ns of namespaces) if (marked(ns.labels) && applies(policy, ns.name, ns.labels)) names.push(ns.name);
  return names.sort();
}

/** Denies an ImagePolicy whose namespaces' marks could not all be removed (fail closed). */
export function evaluateImagesMarkRelease(
  request: AdmissionRequest,
  _snapshot: PolicySnapshot,
  facts: RequestFacts,
): Verdict {
  const release = facts.imagesMarkRelease;
  if (!release || release.failures.length === 0) return allow(RULE, 'skip');
  const failures = release.failures.map((f) => `${f.namespace} (${f.reason})`).join(', ');
  return deny(
    RULE,
    `ImagePolicy ${request.name ?? request.object?.metadata?.name ?? ''} is not admitted (fail closed): it applies ` +
      `to namespaces marked ${IMAGES_MARK}=${MARK_NONE}, where pods are not sent to Bulwark, and the mark could not ` +
      `be removed from: ${failures}; remove it (kubectl label ns NAME ${IMAGES_MARK}-) and retry`,
  );
}

/** Denies a Namespace relabelling that leaves (or puts) the images mark on a namespace a policy now applies to. */
export function evaluateMarkedRelabel(request: AdmissionRequest, snapshot: PolicySnapshot): Verdict {
  if (!isNamespaceRelabel(request)) return allow(RULE, 'skip');
  const after: Labels = request.object?.metadata?.labels ?? {};
  if (!marked(after)) return allow(RULE, 'skip');
  const before: Labels = request.oldObject?.metadata?.labels ?? {};
  const name = request.name ?? request.object?.metadata?.name ?? '';
  // A policy that already applied under the mark is the audit loop's to fix (it removes the
  // mark); denying here would only block unrelated label changes, such as a lock's claim.
  const newlyApplying = snapshot.images.filter(
    (p) => applies(p, name, after) && !(marked(before) && applies(p, name, before)),
  );
  if (newlyApplying.length === 0) return allow(RULE);
  return deny(
    RULE,
    `Namespace ${name}: with these labels ImagePolicy ${newlyApplying.map((p) => p.name).join(', ')} applies to it, ` +
      `but its ${IMAGES_MARK}=${MARK_NONE} mark keeps pods away from Bulwark; remove the ${IMAGES_MARK} mark in ` +
      `the same change: kubectl label ns ${name} ${IMAGES_MARK}-`,
  );
}
