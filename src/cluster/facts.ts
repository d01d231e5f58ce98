// Facts the shell looks up before the core decides:
// - the time (expiries are judged against it);
// - the parent object of `scale`, `eviction` and binding requests, whose request objects
//   (Scale, Eviction, Binding) do not carry the parent's labels;
// - the labels of the request's namespace and the UnlockRequests aimed at the object
//   (both from informer caches, no API call); when one of those is a rollback, the
//   object's Seal (its sealed states);
// - for an UnlockRequest being created or approved, the object it targets;
// - for a Namespace or CRD being deleted, or a CRD update that can change how its
//   objects read, the locked objects it still holds; for an APIService that would route
//   a group/version to another server, the locked objects of that group;
// - for an UnlockRequest, the labels of its target's namespace;
// - for a write that locks an object, whether Bulwark may list its kind (listable.ts);
// - for an ImmutabilityPolicy write that could loosen locks, or a Namespace relabelling,
//   the locked objects whose protection it could change, and the UnlockRequests aimed at
//   the policy or Namespace (the agreement such a change needs);
// - for a request that puts a lock into a namespace, that its `bulwark.dev/locks` mark is
//   gone (namespace-claim.ts); for an ImagePolicy write, that the `bulwark.dev/images` mark
//   is gone from every namespace it applies to (images-mark-release.ts). The only writes.
// A failed lookup is reported "unavailable", which the core turns into a denial.

import type { AdmissionRequest, KubeObject } from '../admission/types.ts';
import {
  isContainerDelete,
  isPodBinding,
  needsParent,
  type ParentFact,
  type RequestFacts,
  type SealFact,
} from '../decision/facts.ts';
import { SEALS_PATH } from '../attestation/seal.ts';
import { isUnlockRequestWrite } from '../attestation/stamp.ts';
import type { FactResolver } from '../review/decide.ts';
import type { LockLabel } from '../policy/compiled.ts';
import { isApiServiceRerouting } from '../rules/guards/apiservice.ts';
import { isGuardedCrdUpdate } from '../rules/guards/crd-changes.ts';
import { groupOf } from '../policy/compile-unlock.ts';
import { resourcePath, type Discovery } from './discovery.ts';
import type { KubeReader } from './kube-client.ts';
import { isPolicyWrite } from '../rules/governance/authorship.ts';
import { isNamespaceRelabel } from '../rules/governance/namespace-labels.ts';
import { mayLoosenLocks } from '../rules/governance/policy-change.ts';
import { findExposedObjects } from './exposed-objects.ts';
import { findLockedContents } from './locked-contents.ts';
import { createListableCheck } from './listable.ts';
import { locksObject } from '../rules/guards/unlistable-lock.ts';
import { claimNamespace } from './namespace-claim.ts';
import { releaseImagesMarks } from './images-mark-release.ts';
import type { ClusterInformers } from './policy-informers.ts';

export function objectPath(request: AdmissionRequest): string {
  const { group, version } = request.resource;
  // The older `bindings` resource names the pod it binds.
  const resource = isPodBinding(request) ? 'pods' : request.resource.resource;
  const prefix = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  const ns = request.namespace ? `/namespaces/${encodeURIComponent(request.namespace)}` : '';
  return `${prefix}${ns}/${resource}/${encodeURIComponent(request.name ?? '')}`;
}

// The parent is read whole, not metadata-only: the rules need its kind and apiVersion
// (policy matching by kind), and an eviction's pod its owner and spec (controller writes).
async function lookup(reader: KubeReader, path: string, timeoutMs: number): Promise<ParentFact> {
  try {
    const object = await reader.getJson(path, { timeoutMs });
    return object === undefined ? { status: 'absent' } : { status: 'found', object: object as KubeObject };
  } catch (err) {
    return { status: 'unavailable', reason: (err as Error).message };
  }
}

async function sealLookup(reader: KubeReader, uid: string, timeoutMs: number): Promise<SealFact> {
  const found = await lookup(reader, `${SEALS_PATH}/${encodeURIComponent(uid)}`, timeoutMs);
  return found.status === 'found' ? { status: 'found', seal: (found.object as { spec?: unknown }).spec } : found;
}

/** The object an UnlockRequest's spec.target names, as it stands (also for the status loop). */
export async function readUnlockTarget(
  reader: KubeReader,
  discovery: Discovery,
  target: { apiVersion?: string; kind?: string; namespace?: string; name?: string } | undefined,
  timeoutMs: number,
): Promise<ParentFact> {
  if (!target?.apiVersion || !target.kind || !target.name)
    return { status: 'unavailable', reason: 'spec.target is incomplete' };
  try {
    const resource = await discovery.find(groupOf(target.apiVersion), target.kind);
    if (!resource) return { status: 'absent' };
    return await lookup(
      reader,
      resourcePath(resource, resource.namespaced ? target.namespace : undefined, target.name),
      timeoutMs,
    );
  } catch (err) {
    return { status: 'unavailable', reason: (err as Error).message };
  }
}

type TargetRef = { apiVersion?: string; kind?: string; namespace?: string; name?: string };

/** spec.target of an unlock request being written; a LocalUnlockRequest's defaults to its own namespace. */
function targetOfUnlockWrite(request: AdmissionRequest): TargetRef {
  const target = (request.object as { spec?: { target?: TargetRef } } | null)?.spec?.target ?? {};
  return request.kind.kind === 'LocalUnlockRequest' && !target.namespace && request.namespace
    ? { ...target, namespace: request.namespace }
    : target;
}

export function clusterFactResolver(options: {
  reader: KubeReader;
  discovery?: Discovery;
  informers?: Pick<ClusterInformers, 'namespaceLabels' | 'unlocksFor' | 'namespaces'>;
  timeoutMs: number;
  lockLabel?: LockLabel;
  now?: () => number;
}): FactResolver {
  const { reader, discovery, informers, timeoutMs } = options;
  const now = options.now ?? Date.now;
  const listable = createListableCheck(reader);
  return async (request, snapshot): Promise<RequestFacts> => {
    const facts: RequestFacts = { now: now() };
    if (request.namespace) {
      const labels = informers?.namespaceLabels(request.namespace);
      if (labels) facts.namespaceLabels = labels;
    }
    if (
      informers &&
      request.name &&
      (request.operation === 'UPDATE' ||
        request.operation === 'DELETE' ||
        request.subResource === 'eviction' ||
        isPodBinding(request) ||
        isPolicyWrite(request) ||
        isApiServiceRerouting(request))
    ) {
      // A Namespace is cluster-scoped, though its requests carry its own name as namespace.
      const isNamespace = request.kind.group === '' && request.kind.kind === 'Namespace';
      const unlocks = informers.unlocksFor(isNamespace ? undefined : request.namespace, request.name);
      if (unlocks.length > 0) facts.unlocks = unlocks;
      // Only a rollback reads the Seal: every other request costs nothing more.
      const uid = request.oldObject?.metadata?.uid;
      if (request.operation === 'UPDATE' && uid && unlocks.some((u) => u.rollbackTo !== undefined))
        facts.seal = await sealLookup(reader, uid, timeoutMs);
    }
    const unlockTarget = isUnlockRequestWrite(request) ? targetOfUnlockWrite(request) : undefined;
    if (unlockTarget) {
      const namespace = unlockTarget.namespace;
      const labels = namespace ? informers?.namespaceLabels(namespace) : undefined;
      if (labels) facts.targetNamespaceLabels = labels;
    }
    if (
      discovery &&
      informers &&
      (isNamespaceRelabel(request) ||
        (isPolicyWrite(request) && request.kind.kind === 'ImmutabilityPolicy' && mayLoosenLocks(request, snapshot)))
    ) {
      facts.exposed = await findExposedObjects({
        reader,
        discovery,
        request,
        label: options.lockLabel ?? snapshot.lockLabel,
        timeoutMs,
        namespaceLabels: (ns) => informers.namespaceLabels(ns),
      });
    }
    if (needsParent(request))
      facts.parent = request.name
        ? await lookup(reader, objectPath(request), timeoutMs)
        : { status: 'unavailable', reason: 'the request names no object' };
    if (locksObject(request, options.lockLabel ?? snapshot.lockLabel))
      facts.lockListing = await listable(request.resource, timeoutMs);
    if (discovery && unlockTarget)
      facts.unlockTarget = await readUnlockTarget(reader, discovery, unlockTarget, timeoutMs);
    if (discovery && (isContainerDelete(request) || isGuardedCrdUpdate(request) || isApiServiceRerouting(request))) {
      facts.lockedContents = await findLockedContents({
        reader,
        discovery,
        request,
        label: options.lockLabel ?? snapshot.lockLabel,
        timeoutMs,
      });
    }
    const claim = await claimNamespace(reader, request, options.lockLabel ?? snapshot.lockLabel, {
      now: facts.now!,
      timeoutMs,
    });
    if (claim) facts.namespaceClaim = claim;
    if (informers) {
      // Half the deadline: the rest is left for the other lookups and the answer.
      const release = await releaseImagesMarks(reader, request, snapshot, informers.namespaces(), {
        budgetMs: timeoutMs / 2,
        now,
      });
      if (release) facts.imagesMarkRelease = release;
    }
    return facts;
  };
}
