// UnlockRequests and their admission reviews for tests, derived from captured reviews.

import type { AdmissionReviewRequest, KubeObject } from '../../src/admission/types.ts';
import { attested } from './attestation.ts';
import { variant } from './reviews.ts';
import { immutabilityPolicy } from './policies.ts';
import { policyStore } from './snapshots.ts';
import type { PolicySnapshot } from '../../src/policy/compiled.ts';

export const CREATED_AT = '2026-11-25T10:00:00Z';
export const CREATED_MS = Date.parse(CREATED_AT);

export function unlockRequest(
  name: string,
  spec: Record<string, unknown>,
  approvals: { user: string; groups?: string[] }[] = [],
  /** `local`: a LocalUnlockRequest in this namespace (else a cluster-scoped UnlockRequest). */
  options: { attest?: boolean; local?: string } = {},
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
    kind: options.local ? 'LocalUnlockRequest' : 'UnlockRequest',
    metadata: {
      name,
      ...(options.local ? { namespace: options.local } : {}),
      uid: `uid-${name}`,
      creationTimestamp: CREATED_AT,
      resourceVersion: '1',
    },
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
    const local = object.kind === 'LocalUnlockRequest';
    r.request.kind = {
      group: 'bulwark.dev',
      version: 'v1alpha1',
      kind: local ? 'LocalUnlockRequest' : 'UnlockRequest',
    };
    r.request.resource = {
      group: 'bulwark.dev',
      version: 'v1alpha1',
      resource: local ? 'localunlockrequests' : 'unlockrequests',
    };
    r.request.requestKind = r.request.kind;
    r.request.requestResource = r.request.resource;
    if (local && object.metadata?.namespace) r.request.namespace = object.metadata.namespace;
    else delete r.request.namespace;
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

/** A snapshot with one ImmutabilityPolicy asking 2 approvals of group `approvers`, for at most 1h. */
export function twoApproversSnapshot(): PolicySnapshot {
  const s = policyStore({ sources: [] });
  s.upsert(
    'ImmutabilityPolicy',
    immutabilityPolicy('locks', { unlock: { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h' } }),
  );
  return s.snapshot();
}
