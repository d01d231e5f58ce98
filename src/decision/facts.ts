// Facts the pure core cannot read from the request itself and the I/O shell fetches
// before deciding. Keeping them explicit lets the core stay free of I/O and lets tests
// state them directly.

import type { AdmissionRequest, KubeObject } from '../admission/types.ts';

/** The object a subresource request acts on, when the request carries another kind. */
export type ParentFact =
  | { status: 'found'; object: KubeObject }
  | { status: 'absent' }
  | { status: 'unavailable'; reason: string };

export interface RequestFacts {
  parent?: ParentFact;
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
