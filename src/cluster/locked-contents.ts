// Lists the locked objects a Namespace or CRD still holds, for the guards: every
// namespaced, listable resource that exists now (discovery read afresh, every served
// version, completed with CRDs that discovery does not show yet), or the CRD's own
// resource cluster-wide at each of its served versions, or for an APIService every
// resource of its group cluster-wide (as discovery shows it now); in parallel, with a deadline,
// filtered by the lock label on the server, metadata only. A resource that no longer
// exists (404) holds nothing; any other failure is reported, and the guard fails closed.

import type { AdmissionRequest } from '../admission/types.ts';
import type { LockedContents } from '../decision/facts.ts';
import type { LockLabel } from '../policy/compiled.ts';
import { reroutedGroup } from '../rules/guards/apiservice.ts';
import { isForbidden } from './listable.ts';
import { resourcePath, type ApiResource, type Discovery } from './discovery.ts';
import { isBulwarkError } from '../errors.ts';
import type { KubeReader } from './kube-client.ts';

const NAMED = 5;
/** Names and labels are all a guard needs: the apiserver sends metadata only (JSON if it cannot). */
const METADATA_ONLY = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

interface ObjectList {
  items?: { metadata?: { name?: string; namespace?: string } }[];
  metadata?: { continue?: string };
}
interface Crd {
  metadata?: { name?: string };
  spec?: {
    group?: string;
    scope?: string;
    names?: { plural?: string; kind?: string };
    versions?: { name: string; served?: boolean }[];
  };
}

/**
 * GET with retries while the server says "too many requests" (a freshly established
 * CRD answers 429 "storage is (re)initializing" for a moment), within the deadline.
 */
export async function getPatiently(
  reader: KubeReader,
  path: string,
  deadline: number,
  accept?: string,
): Promise<unknown> {
  for (;;) {
    try {
      return await reader.getJson(path, {
        timeoutMs: Math.max(1, deadline - Date.now()),
        ...(accept ? { accept } : {}),
      });
    } catch (err) {
      if (isForbidden(err)) throw err; // RBAC does not change within a decision
      const tooMany = isBulwarkError(err, 'KUBE_API_ERROR') && err.upstream?.status === 429;
      const wait = Math.min(1000, tooMany ? (err.upstream?.retryAfterSeconds ?? 0.2) * 1000 : Infinity);
      if (!Number.isFinite(wait) || Date.now() + wait >= deadline) throw err;
      await new Promise((r) => setTimeout(r, Math.max(wait, 100)));
    }
  }
}

interface Found {
  names: string[];
  more: boolean;
}

async function lockedOf(
  reader: KubeReader,
  r: ApiResource,
  label: LockLabel,
  namespace: string | undefined,
  deadline: number,
): Promise<Found> {
  const selector = encodeURIComponent(`${label.key}=${label.value}`);
  const list = (await getPatiently(
    reader,
    `${resourcePath(r, namespace)}?labelSelector=${selector}&limit=${NAMED}`,
    deadline,
    METADATA_ONLY,
  )) as ObjectList | undefined;
  const names = (list?.items ?? []).map(
    (o) =>
      `${r.kind} ${o.metadata?.namespace && !namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? ''}`,
  );
  return { names, more: Boolean(list?.metadata?.continue) };
}

const unlessForbidden = (err: unknown): Found => {
  if (isForbidden(err)) return { names: [], more: false };
  throw err;
};

/** The resource of a CRD at each version it serves. */
function servedResources(crd: Crd): ApiResource[] {
  const { group, names, scope } = crd.spec ?? {};
  if (!group || !names?.plural) return [];
  return (crd.spec?.versions ?? [])
    .filter((v) => v.served)
    .map((v) => ({
      group,
      version: v.name,
      resource: names.plural!,
      kind: names.kind ?? names.plural!,
      namespaced: scope !== 'Cluster',
      verbs: ['list'],
    }));
}

/**
 * Namespaced, listable resources as of now. Discovery learns of a new CRD a moment after
 * it is stored; the CRDs' own names (metadata only, one request) close that gap: a CRD
 * discovery does not show yet is read and its resource added.
 */
async function namespacedResources(reader: KubeReader, discovery: Discovery, deadline: number): Promise<ApiResource[]> {
  const [discovered, crds] = await Promise.all([
    discovery.current(),
    getPatiently(reader, CRDS, deadline, METADATA_ONLY) as Promise<ObjectList | undefined>,
  ]);
  const known = new Set(discovered.map((r) => `${r.resource}.${r.group}`));
  const missing = (crds?.items ?? [])
    .map((c) => c.metadata?.name ?? '')
    .filter((name) => name !== '' && !known.has(name));
  const late = await Promise.all(
    missing.map(async (name) =>
      servedResources(((await getPatiently(reader, `${CRDS}/${name}`, deadline)) as Crd) ?? {}).slice(0, 1),
    ),
  );
  return [...discovered, ...late.flat()].filter((r) => r.namespaced && r.verbs.includes('list'));
}

export async function findLockedContents(options: {
  reader: KubeReader;
  discovery: Discovery;
  request: AdmissionRequest;
  label: LockLabel;
  timeoutMs: number;
}): Promise<LockedContents> {
  const { reader, discovery, request, label } = options;
  const deadline = Date.now() + options.timeoutMs;
  try {
    let found: Found[];
    if (request.kind.kind === 'Namespace') {
      const resources = await namespacedResources(reader, discovery, deadline);
      // A kind Bulwark may not list (RBAC) holds no locked objects: locking it is refused
      // (unlistable-lock.ts). Skipped, or every namespace deletion would be refused.
      found = await Promise.all(
        resources.map((r) => lockedOf(reader, r, label, request.name, deadline).catch(unlessForbidden)),
      );
    } else if (request.kind.kind === 'APIService') {
      const group = reroutedGroup(request);
      const resources = (await discovery.current()).filter((r) => r.group === group && r.verbs.includes('list'));
      found = await Promise.all(
        resources.map((r) => lockedOf(reader, { ...r, namespaced: false }, label, undefined, deadline)),
      );
    } else {
      // Listed cluster-wide at every served version (all show the same objects; a version
      // whose conversion fails makes the listing fail, and the guard with it).
      const served = servedResources((request.oldObject ?? {}) as Crd);
      if (served.length === 0)
        return {
          status: 'unavailable',
          reason:
            'the CRD serves no version, so its objects cannot be listed; serve one first (an UPDATE of the CRD ' +
            'unlocked by an approved UnlockRequest)',
        };
      const perVersion = await Promise.all(
        served.map((r) => lockedOf(reader, { ...r, namespaced: false }, label, undefined, deadline)),
      );
      found = [{ names: [...new Set(perVersion.flatMap((f) => f.names))], more: perVersion.some((f) => f.more) }];
    }
    const all = found.flatMap((f) => f.names);
    return { status: 'listed', objects: all.slice(0, NAMED), more: all.length > NAMED || found.some((f) => f.more) };
  } catch (err) {
    return { status: 'unavailable', reason: (err as Error).message };
  }
}
