// Facts the pure core cannot read from the request itself and the I/O shell fetches
// before deciding. Keeping them explicit lets the core stay free of I/O and lets tests
// state them directly.

import type { AdmissionRequest, KubeObject } from '../admission/types.ts';
import type { VerificationResult } from '../rules/images/verification.ts';

/** The object a subresource request acts on, when the request carries another kind. */
export type ParentFact =
  | { status: 'found'; object: KubeObject }
  | { status: 'absent' }
  | { status: 'unavailable'; reason: string };

/** What the shell found out about a request's images (see rules/images/plan.ts). */
export interface ImageFacts {
  /** For each tag-only reference (as written), the digest it points at now, or why that is unknown. */
  tagDigests: ReadonlyMap<string, { digest: string } | { error: string }>;
  /** Verification results by taskKey (digest, policy uid and resourceVersion). */
  verifications: ReadonlyMap<string, VerificationResult>;
}

export interface RequestFacts {
  parent?: ParentFact;
  images?: ImageFacts;
  /** Labels of the request's namespace; absent when unknown (no cluster, not yet cached). */
  namespaceLabels?: Readonly<Record<string, string>>;
}

/**
 * Subresources whose request object is not the parent object, so the parent's labels
 * are not in the request: `scale` carries an autoscaling/v1 Scale, `eviction` a
 * policy/v1 Eviction (which deletes the pod).
 */
const FOREIGN_OBJECT_SUBRESOURCES = new Set(['scale', 'eviction']);

export function needsParent(request: AdmissionRequest): boolean {
  return request.subResource !== undefined && FOREIGN_OBJECT_SUBRESOURCES.has(request.subResource)
    && (request.operation === 'UPDATE' || request.operation === 'CREATE');
}
