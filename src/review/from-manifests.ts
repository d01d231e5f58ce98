// AdmissionReviews built from plain manifests, as the apiserver would send them: for
// `bulwark test`, `bulwark check` and `bulwark review --old/--new`, which decide offline
// with the same core the webhook runs. Pure: the uid is derived, no clock is read.

import type {
  AdmissionRequest,
  AdmissionReviewRequest,
  GroupVersionKind,
  KubeObject,
  ObjectMeta,
  Operation,
} from '../admission/types.ts';
import { BaseError } from '../errors.ts';

export interface ManifestChange {
  /** The object as it is (UPDATE, DELETE; for scale and eviction, the parent). */
  oldObject?: KubeObject;
  /** The object as written (CREATE, UPDATE). */
  object?: KubeObject;
  /** Default: UPDATE with both objects, CREATE with only `object`, DELETE with only `oldObject`. */
  operation?: Operation;
  /** `scale` (with `replicas`) or `eviction` act on `oldObject` as the parent; others pass through. */
  subResource?: string;
  replicas?: number;
  /** The plural resource name, when the simple English plural of the kind is not it. */
  resource?: string;
  user?: string;
  groups?: readonly string[];
  dryRun?: boolean;
  /** Distinguishes reviews (the response echoes it). */
  uid?: string;
}

function gvkOf(object: KubeObject): GroupVersionKind {
  const apiVersion = object.apiVersion ?? '';
  const slash = apiVersion.indexOf('/');
  return {
    group: slash < 0 ? '' : apiVersion.slice(0, slash),
    version: slash < 0 ? apiVersion : apiVersion.slice(slash + 1),
    kind: object.kind ?? '',
  };
}

/** `Ingress` -> `ingresses`, `NetworkPolicy` -> `networkpolicies`, `Endpoints` -> `endpoints`. */
export function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith('endpoints')) return lower;
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

function operationOf(change: ManifestChange): Operation {
  if (change.operation) return change.operation;
  if (change.subResource === 'scale') return 'UPDATE';
  if (change.subResource === 'eviction') return 'CREATE';
  if (change.object && change.oldObject) return 'UPDATE';
  if (change.object) return 'CREATE';
  if (change.oldObject) return 'DELETE';
  throw new BaseError('CLI_USAGE', 'a change needs an object, an old object or both');
}

/** The parent's name and namespace, as a subresource object's metadata carries them. */
function nameOf(parent: KubeObject): ObjectMeta {
  const { name, namespace } = parent.metadata ?? {};
  return { ...(name ? { name } : {}), ...(namespace ? { namespace } : {}) };
}

function scaleOf(parent: KubeObject, replicas: number): KubeObject {
  return { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: nameOf(parent), spec: { replicas } };
}

/** The request object and kind of a subresource request on `parent` (the apiserver's shapes). */
function subresourceBody(change: ManifestChange, parent: KubeObject) {
  if (change.subResource === 'scale') {
    const current = (parent.spec as { replicas?: unknown } | undefined)?.replicas;
    const before = typeof current === 'number' ? current : 1;
    return {
      kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
      oldObject: scaleOf(parent, before),
      object: scaleOf(parent, change.replicas ?? before),
    };
  }
  return {
    kind: { group: 'policy', version: 'v1', kind: 'Eviction' },
    oldObject: null,
    object: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: nameOf(parent) } as KubeObject,
  };
}

export function requestFromManifests(change: ManifestChange): AdmissionRequest {
  const operation = operationOf(change);
  const main = change.object ?? change.oldObject;
  if (!main) throw new BaseError('CLI_USAGE', 'a change needs an object, an old object or both');
  const target = change.subResource === 'scale' || change.subResource === 'eviction' ? change.oldObject : main;
  if (!target) throw new BaseError('CLI_USAGE', `a ${change.subResource} request needs the parent object`);
  const gvk = gvkOf(target);
  const resource = { group: gvk.group, version: gvk.version, resource: change.resource ?? pluralOf(gvk.kind) };
  const { name, namespace } = target.metadata ?? {};
  const isNamespace = gvk.group === '' && gvk.kind === 'Namespace';
  const body =
    change.subResource === 'scale' || change.subResource === 'eviction'
      ? subresourceBody(change, target)
      : {
          kind: gvk,
          oldObject: operation === 'CREATE' ? null : (change.oldObject ?? null),
          object: operation === 'DELETE' ? null : (change.object ?? null),
        };
  return {
    uid: change.uid ?? 'bulwark-offline',
    kind: body.kind,
    resource,
    ...(change.subResource ? { subResource: change.subResource } : {}),
    requestKind: body.kind,
    requestResource: resource,
    ...(change.subResource ? { requestSubResource: change.subResource } : {}),
    ...(name ? { name } : {}),
    ...(isNamespace && name ? { namespace: name } : namespace ? { namespace } : {}),
    operation,
    userInfo: { username: change.user ?? 'bulwark-test', groups: [...(change.groups ?? ['system:authenticated'])] },
    object: body.object,
    oldObject: body.oldObject,
    dryRun: change.dryRun ?? false,
    options: null,
  };
}

export function reviewFromManifests(change: ManifestChange): AdmissionReviewRequest {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: requestFromManifests(change) };
}
