// Facts the pure core cannot read from the request itself and the I/O shell fetches
// before deciding. Keeping them explicit lets the core stay free of I/O and lets tests
// state them directly.

import type { AdmissionRequest, KubeObject } from '../admission/types.ts';
import type { CompiledUnlock } from '../policy/compile-unlock.ts';

/** The object a subresource request acts on, when the request carries another kind. */
export type ParentFact =
  | { status: 'found'; object: KubeObject }
  | { status: 'absent' }
  | { status: 'unavailable'; reason: string };

/** A locked object as a metadata-only list returns it: enough to tell which policies govern it. */
export interface LockedObject {
  group: string;
  kind: string;
  /** Undefined for cluster-scoped objects. */
  namespace?: string;
  name: string;
  labels: Readonly<Record<string, string>>;
}

/**
 * The locked objects a policy change or a namespace relabelling could expose, with the
 * labels of their namespaces (a namespace absent from the map has unknown labels).
 */
export type ExposedObjects =
  | {
      status: 'listed';
      objects: readonly LockedObject[];
      namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
    }
  | { status: 'unavailable'; reason: string };

/**
 * The Seal of the object an UPDATE changes (named after its uid), read only when an
 * UnlockRequest aimed at it is a rollback: its MAC is checked by the rule, not here.
 */
export type SealFact =
  | { status: 'found'; seal: unknown }
  | { status: 'absent' }
  | { status: 'unavailable'; reason: string };

export type LockedContents =
  | { status: 'listed'; objects: readonly string[]; more: boolean }
  | { status: 'unavailable'; reason: string };

/** Why an image digest did not verify against an ImagePolicy. */
export type VerificationFailure =
  /** No signature in either cosign format, and not on an approved-digest list. */
  | 'unsigned'
  /**
   * Not genuine: a signature claims a trusted key (a sigstore bundle naming it, or a
   * legacy signature, which names no key) but does not verify with it (altered,
   * corrupt or malformed).
   */
  | 'not-genuine'
  /** A signature names its signer, and that is no key the policy trusts (another key, a certificate). */
  | 'untrusted-signer'
  /** A signature verifies but signs another digest than the one the pod names. */
  | 'wrong-digest'
  /** The registry failed (down, 5xx, garbage, auth): nothing can be said about the image. */
  | 'registry-error'
  /** Some of the policy's signers verified, but fewer than its threshold, or a required one is missing. */
  | 'too-few-signers'
  /** Verification did not finish within the decision deadline. */
  | 'timeout'
  /** The policy's key or credentials could not be read (Secret missing). */
  | 'configuration';

/** The verified attestations of one kind an ImagePolicy asks for (conditions are judged by the rule). */
export interface AttestationFact {
  name: string;
  /** Statements of the attestation's predicate type about this digest, verified with a key it trusts. */
  found: readonly { signer: string; predicate: unknown; via: string }[];
  /** Why other candidates did not count (another digest, another key, not genuine, the registry failed). */
  problems: readonly string[];
}

/** What verifying one image digest against one ImagePolicy yields. */
export type VerificationResult =
  | { ok: true; authority: string; detail: string; attestations?: readonly AttestationFact[] }
  | { ok: false; failure: VerificationFailure; reason: string };

/** What the shell found out about a request's images (see rules/images/plan.ts). */
export interface ImageFacts {
  /** For each tag-only reference (as written), the digest it points at now, or why that is unknown. */
  tagDigests: ReadonlyMap<string, { digest: string } | { error: string }>;
  /** Verification results by taskKey (digest, policy uid and resourceVersion). */
  verifications: ReadonlyMap<string, VerificationResult>;
}

export interface RequestFacts {
  /** The time of the request (epoch ms), for expiries: the core reads no clock. */
  now?: number;
  parent?: ParentFact;
  images?: ImageFacts;
  /** UnlockRequests whose target is the object of this request. */
  unlocks?: readonly CompiledUnlock[];
  /** When one of `unlocks` is a rollback: the object's Seal (its sealed states). */
  seal?: SealFact;
  /** For an UnlockRequest being created or approved: the object it targets. */
  unlockTarget?: ParentFact;
  /** For a Namespace or CRD being deleted: locked objects it still holds. */
  lockedContents?: LockedContents;
  /** Labels of the request's namespace; absent when unknown (no cluster, not yet cached). */
  namespaceLabels?: Readonly<Record<string, string>>;
  /** For an UnlockRequest: labels of its target's namespace (an UnlockRequest itself has none). */
  targetNamespaceLabels?: Readonly<Record<string, string>>;
  /** For a policy write or a Namespace relabelling: the locked objects whose protection it could change. */
  exposed?: ExposedObjects;
  /** For a write that locks an object: `forbidden` when Bulwark may not list its kind (RBAC). */
  lockListing?: 'listable' | 'forbidden' | 'unknown';
  /**
   * For a request that puts a lock into a namespace: whether the shell removed the
   * namespace's `bulwark.dev/locks` mark first (rules/immutability/namespace-marks.ts).
   */
  namespaceClaim?: { status: 'claimed' } | { status: 'unavailable'; reason: string };
  /**
   * For an ImagePolicy write: the marked namespaces it applies to whose `bulwark.dev/images`
   * mark the shell could not remove (rules/images/images-mark.ts); empty when all went.
   */
  imagesMarkRelease?: { failures: readonly { namespace: string; reason: string }[] };
}

/** Whether a request deletes something whose deletion would delete objects without admission. */
export function isContainerDelete(request: AdmissionRequest): boolean {
  if (request.operation !== 'DELETE' || request.subResource !== undefined) return false;
  return (
    (request.kind.group === '' && request.kind.kind === 'Namespace') ||
    (request.kind.group === 'apiextensions.k8s.io' && request.kind.kind === 'CustomResourceDefinition')
  );
}

/**
 * Subresources whose request object is not the parent object, so the parent's labels
 * are not in the request: `scale` carries an autoscaling/v1 Scale, `eviction` a
 * policy/v1 Eviction (which deletes the pod).
 */
const FOREIGN_OBJECT_SUBRESOURCES = new Set(['scale', 'eviction']);

/**
 * A Binding of a pod to a node: `pods/binding`, or the older `bindings` resource (same
 * effect). Its object is a v1 Binding, which carries none of the pod's labels either.
 */
export function isPodBinding(request: AdmissionRequest): boolean {
  const { resource, subResource } = request;
  if (request.operation !== 'CREATE' || resource.group !== '') return false;
  return (
    (resource.resource === 'pods' && subResource === 'binding') ||
    (resource.resource === 'bindings' && subResource === undefined)
  );
}

/**
 * Whether a Binding carries annotations or labels, which the apiserver copies onto the
 * pod. A plain Binding (what the scheduler sends) only sets the node: no lookup needed.
 */
export function bindingWritesMetadata(request: AdmissionRequest): boolean {
  const metadata = request.object?.metadata;
  const nonEmpty = (map: unknown) => typeof map === 'object' && map !== null && Object.keys(map).length > 0;
  return nonEmpty(metadata?.annotations) || nonEmpty(metadata?.labels);
}

export function needsParent(request: AdmissionRequest): boolean {
  if (isPodBinding(request)) return bindingWritesMetadata(request);
  return (
    request.subResource !== undefined &&
    FOREIGN_OBJECT_SUBRESOURCES.has(request.subResource) &&
    (request.operation === 'UPDATE' || request.operation === 'CREATE')
  );
}
