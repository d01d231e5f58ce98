// What verifying one image digest against one ImagePolicy yields. The I/O shell
// produces these (registry, signatures, cache); the pure image rule only reads them.

import type { CompiledImagePolicy } from '../../policy/compiled.ts';
import type { ImageReference } from './reference.ts';

export type VerificationFailure =
  /** No signature in either cosign format, and not on an approved-digest list. */
  | 'unsigned'
  /** A signature exists but does not verify with any trusted key (wrong key or tampered): not genuine. */
  | 'bad-signature'
  /** A signature verifies but signs another digest than the one the pod names. */
  | 'wrong-digest'
  /** The registry failed (down, 5xx, garbage, auth): nothing can be said about the image. */
  | 'registry-error'
  /** Verification did not finish within the decision deadline. */
  | 'timeout'
  /** The policy's key or credentials could not be read (Secret missing). */
  | 'configuration';

export type VerificationResult =
  | { ok: true; authority: string; detail: string }
  | { ok: false; failure: VerificationFailure; reason: string };

/** One verification task: a pinned image against one policy (all its authorities). */
export interface VerificationTask {
  image: ImageReference & { digest: string };
  policy: CompiledImagePolicy;
  /** imagePullSecrets of the pod, `namespace/name`, tried after the policy's own credentials. */
  pullSecrets: readonly { namespace: string; name: string }[];
}

/** The cache and single-flight key: the same digest under the same policy version verifies the same. */
export function taskKey(task: VerificationTask): string {
  return `${task.image.registry}/${task.image.repository}@${task.image.digest}|${task.policy.uid}|${task.policy.resourceVersion}`;
}

export type Verifier = (task: VerificationTask, signal: AbortSignal) => Promise<VerificationResult>;
