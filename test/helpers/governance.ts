// Admission reviews of policy writes and namespace relabellings for governance tests,
// derived from a captured review (the apiserver's shape) with the kind and objects changed.

import type { AdmissionReviewRequest, KubeObject, Operation } from '../../src/admission/types.ts';
import type { ExposedObjects, LockedObject } from '../../src/decision/facts.ts';
import { variant } from './reviews.ts';

export const ADMIN = { username: 'admin', groups: ['system:masters', 'system:authenticated'] };
export const ALICE = { username: 'alice', groups: ['dev', 'approvers', 'system:authenticated'] };

const PLURALS: Record<string, string> = { ImmutabilityPolicy: 'immutabilitypolicies', ImagePolicy: 'imagepolicies' };

/** A CREATE (no old object), UPDATE or DELETE (no new object) of a bulwark.dev policy. */
export function policyWrite(
  operation: Exclude<Operation, 'CONNECT'>,
  objects: { oldObject?: KubeObject; object?: KubeObject },
  user = ADMIN,
): AdmissionReviewRequest {
  const any = (objects.object ?? objects.oldObject)!;
  const kind = String(any.kind);
  return variant('configmap-create-labelled', (r) => {
    r.request.kind = { group: 'bulwark.dev', version: 'v1alpha1', kind };
    r.request.resource = { group: 'bulwark.dev', version: 'v1alpha1', resource: PLURALS[kind]! };
    r.request.requestKind = r.request.kind;
    r.request.requestResource = r.request.resource;
    delete r.request.namespace;
    r.request.name = any.metadata?.name ?? '';
    r.request.operation = operation;
    r.request.object = objects.object ?? null;
    r.request.oldObject = objects.oldObject ?? null;
    r.request.userInfo = user;
  });
}

export function namespaceObject(name: string, labels: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, uid: `uid-ns-${name}`, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

/**
 * `kubectl label namespace` as the apiserver sends it: an UPDATE of the Namespace, whose request namespace is its own
 * name.
 */
export function namespaceRelabel(
  name: string,
  before: Record<string, string>,
  after: Record<string, string>,
  user = ALICE,
): AdmissionReviewRequest {
  return variant('configmap-create-labelled', (r) => {
    r.request.kind = { group: '', version: 'v1', kind: 'Namespace' };
    r.request.resource = { group: '', version: 'v1', resource: 'namespaces' };
    r.request.requestKind = r.request.kind;
    r.request.requestResource = r.request.resource;
    r.request.namespace = name;
    r.request.name = name;
    r.request.operation = 'UPDATE';
    r.request.oldObject = namespaceObject(name, before);
    r.request.object = namespaceObject(name, after);
    r.request.userInfo = user;
  });
}

export function lockedObject(
  kind: string,
  namespace: string | undefined,
  name: string,
  labels: Record<string, string> = {},
  group = '',
): LockedObject {
  return {
    group,
    kind,
    ...(namespace ? { namespace } : {}),
    name,
    labels: { 'bulwark.dev/immutable': 'true', ...labels },
  };
}

export function exposed(
  objects: LockedObject[],
  namespaceLabels: Record<string, Record<string, string>> = {},
): ExposedObjects {
  return { status: 'listed', objects, namespaceLabels: new Map(Object.entries(namespaceLabels)) };
}
