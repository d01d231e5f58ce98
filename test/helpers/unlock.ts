// UnlockRequests and their admission reviews for tests, derived from captured reviews.

import type { AdmissionReviewRequest, KubeObject } from '../../src/admission/types.ts';
import { attested } from './attestation.ts';
import { variant } from './reviews.ts';

export const CREATED_AT = '2026-11-25T10:00:00Z';
export const CREATED_MS = Date.parse(CREATED_AT);

export function unlockRequest(
  name: string,
  spec: Record<string, unknown>,
  approvals: { user: string; groups?: string[] }[] = [],
  options: { attest?: boolean } = {},
): KubeObject {
  // As Bulwark's mutating webhook stamps approvals, rejections and reviews it admits (unless a test says otherwise).
  const stamp = (list: 'approvals' | 'rejections' | 'reviews', entries: unknown) =>
    options.attest === false || !Array.isArray(entries)
      ? entries
      : (entries as Record<string, unknown>[]).map((a) =>
          a.attestation ? a : attested(`uid-${name}`, a, undefined, undefined, list),
        );
  const stored = stamp('approvals', approvals);
  return {
    apiVersion: 'bulwark.dev/v1alpha1',
    kind: 'UnlockRequest',
    metadata: { name, uid: `uid-${name}`, creationTimestamp: CREATED_AT, resourceVersion: '1' },
    spec: {
      target: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'demo', name: 'app-config' },
      operations: ['UPDATE'],
      reason: 'rotate the colour',
      duration: '30m',
      requester: 'alice',
      ...spec,
      ...(spec.rejections ? { rejections: stamp('rejections', spec.rejections) } : {}),
      ...(spec.reviews ? { reviews: stamp('reviews', spec.reviews) } : {}),
      ...(approvals.length > 0 ? { approvals: stored } : {}),
    },
  };
}

/** The captured CREATE of a ConfigMap by alice, turned into a CREATE or UPDATE of an UnlockRequest. */
export function unlockReview(
  object: KubeObject,
  options: { oldObject?: KubeObject; user?: string; groups?: string[] } = {},
): AdmissionReviewRequest {
  return variant('configmap-create-labelled', (r) => {
    r.request.kind = { group: 'bulwark.dev', version: 'v1alpha1', kind: 'UnlockRequest' };
    r.request.resource = { group: 'bulwark.dev', version: 'v1alpha1', resource: 'unlockrequests' };
    r.request.requestKind = r.request.kind;
    r.request.requestResource = r.request.resource;
    delete r.request.namespace;
    r.request.name = object.metadata?.name ?? '';
    r.request.operation = options.oldObject ? 'UPDATE' : 'CREATE';
    r.request.object = object;
    r.request.oldObject = options.oldObject ?? null;
    r.request.userInfo = {
      username: options.user ?? 'alice',
      groups: options.groups ?? ['dev', 'approvers', 'system:authenticated'],
    };
  });
}
