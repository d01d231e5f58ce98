// Relabelling a Namespace can move everything in it out from under a policy (pure):
// env=prod -> env=dev puts a locked ConfigMap under an Audit policy, and removing the
// label an ImagePolicy selects on lets unsigned images run. So a Namespace UPDATE whose
// labels change is compared, for every locked object inside (listed by the shell), by the
// policies governing it with the old labels and with the new ones, and for images by the
// ImagePolicies applying to the namespace before and after. If anything would be less
// protected, the change needs an approved UnlockRequest for the Namespace. Relabelling
// that loosens nothing (adding labels that add policies, an empty namespace) is allowed.
// The namespace's own lock label is the ordinary immutability rule. Labels also change
// through namespaces/status and namespaces/finalize (the apiserver keeps them), so those
// count as relabelling too.

import type { AdmissionRequest } from '../../admission/types.ts';
import type { RequestFacts } from '../../decision/facts.ts';
import { allow, deny, type Verdict } from '../../decision/verdict.ts';
import type { PolicySnapshot } from '../../policy/compiled.ts';
import { imageSetLoosenings } from '../../policy/image-strictness.ts';
import type { Labels } from '../../policy/selector.ts';
import { immutabilityLoosenings } from '../../policy/strictness.ts';
import { applicablePolicies } from '../immutability/governing.ts';
import { requireAgreement } from './agreement.ts';

export const RULE = 'namespace-labels';

/** The apiserver keeps label changes made through these subresources of a Namespace too. */
const SUBRESOURCES_WITH_METADATA = new Set([undefined, 'status', 'finalize']);

export function isNamespaceRelabel(request: AdmissionRequest): boolean {
  if (
    request.kind.group !== '' ||
    request.kind.kind !== 'Namespace' ||
    request.operation !== 'UPDATE' ||
    !SUBRESOURCES_WITH_METADATA.has(request.subResource)
  )
    return false;
  const labels = (o: AdmissionRequest['object']) => JSON.stringify(Object.entries(o?.metadata?.labels ?? {}).sort());
  return labels(request.object) !== labels(request.oldObject);
}

function imageExposures(snapshot: PolicySnapshot, namespace: string, before: Labels, after: Labels): string[] {
  const applying = (labels: Labels) =>
    snapshot.images.filter((p) => p.matchNamespace(namespace, labels) !== 'no-match');
  return imageSetLoosenings(applying(before), applying(after), namespace).map((s) => `images: ${s}`);
}

export function evaluateNamespaceLabels(
  request: AdmissionRequest,
  snapshot: PolicySnapshot,
  facts: RequestFacts,
): Verdict {
  if (!isNamespaceRelabel(request)) return allow(RULE, 'skip');
  const name = request.name ?? request.oldObject?.metadata?.name ?? '';
  const before: Labels = request.oldObject?.metadata?.labels ?? {};
  const after: Labels = request.object?.metadata?.labels ?? {};
  const exposures = imageExposures(snapshot, name, before, after);
  const exposed = facts.exposed;
  if (!exposed || exposed.status === 'unavailable') {
    return deny(
      RULE,
      `Namespace ${name}: cannot tell whether changing its labels loosens the locks of what it holds, so it is ` +
        `denied (fail ` +
        `closed): ${exposed?.status === 'unavailable' ? exposed.reason : 'its locked objects were not looked up'}`,
    );
  }
  for (const o of exposed.objects) {
    const target = { group: o.group, kind: o.kind, namespace: name, objectLabels: o.labels };
    const sentences = immutabilityLoosenings(
      applicablePolicies(snapshot, { ...target, namespaceLabels: before }),
      applicablePolicies(snapshot, { ...target, namespaceLabels: after }),
    );
    if (sentences.length > 0) exposures.push(`${o.kind} ${name}/${o.name}: ${sentences.join('; ')}`);
  }
  if (exposures.length === 0) return allow(RULE);
  return requireAgreement({
    rule: RULE,
    request,
    snapshot,
    facts,
    target: { group: '', kind: 'Namespace', name },
    what: `Namespace ${name}`,
    exposures,
  });
}
