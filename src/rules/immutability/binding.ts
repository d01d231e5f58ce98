// A Binding (pods/binding, or the older bindings resource) assigns a pending pod to a
// node, and the apiserver also copies the Binding's annotations and labels onto the pod,
// overwriting the pod's own (labels since the PodTopologyLabelsAdmission feature, on by
// default from 1.35). The request carries a Binding, not the pod: the rule judges the
// pod as the binding would leave it. The node assignment itself is the binding's purpose
// (what the scheduler does to every pod) and is not a change.

import type { KubeObject } from '../../admission/types.ts';
import type { Change } from '../../diff/semantic-diff.ts';

function stringMap(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The pod with the Binding's annotations and labels copied over its own. */
export function boundPod(pod: KubeObject, binding: KubeObject | null | undefined): KubeObject {
  const annotations = stringMap(binding?.metadata?.annotations);
  const labels = stringMap(binding?.metadata?.labels);
  if (!annotations && !labels) return pod;
  const metadata = { ...pod.metadata };
  if (annotations) metadata.annotations = { ...metadata.annotations, ...annotations } as Record<string, string>;
  if (labels) metadata.labels = { ...metadata.labels, ...labels } as Record<string, string>;
  return { ...pod, metadata };
}

/**
 * The PodTopologyLabels admission plugin (on by default) adds the node's zone and region
 * labels to every Binding it sees, so the scheduler's own bindings carry them: adding
 * them to a pod that lacks them is part of scheduling. Replacing a value is not.
 */
const TOPOLOGY_LABELS = new Set([
  '/metadata/labels/topology.kubernetes.io~1zone',
  '/metadata/labels/topology.kubernetes.io~1region',
]);

export function withoutTopologyLabels(changes: Change[]): Change[] {
  return changes.filter((c) => !(c.kind === 'added' && TOPOLOGY_LABELS.has(c.path)));
}
