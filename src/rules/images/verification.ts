// One verification task: a pinned image digest against one ImagePolicy. The plan makes
// the tasks, the I/O shell runs them (registry, signatures, cache), and their results
// (decision/facts.ts) reach the pure image rule as facts, by taskKey.

import type { VerificationResult } from '../../decision/facts.ts';
import type { CompiledImagePolicy } from '../../policy/compiled.ts';
import type { ImageReference } from './reference.ts';

/** One verification task: a pinned image against one policy (all its authorities). */
export interface VerificationTask {
  image: ImageReference & { digest: string };
  policy: CompiledImagePolicy;
  /** imagePullSecrets of the pod, `namespace/name`, tried after the policy's own credentials. */
  pullSecrets: readonly { namespace: string; name: string }[];
}

/** The cache and single-flight key: the same digest under the same policy version verifies the same. */
export function taskKey(task: VerificationTask): string {
  const { image, policy } = task;
  return `${image.registry}/${image.repository}@${image.digest}|${policy.uid}|${policy.resourceVersion}`;
}

export type Verifier = (task: VerificationTask, signal: AbortSignal) => Promise<VerificationResult>;
