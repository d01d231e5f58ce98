// Lists the locked objects whose protection a request could change, for the governance
// rules: for a Namespace whose labels change, every locked object in it; for an
// ImmutabilityPolicy being written, every locked object of the kinds its old or new
// version covers, cluster-wide. Metadata-only lists filtered by the lock label on the
// server, paged, within the decision deadline. A failed listing is reported unavailable,
// which the rules turn into a denial (fail closed).

import type { AdmissionRequest } from '../admission/types.ts';
import type { ExposedObjects, LockedObject } from '../decision/facts.ts';
import { BaseError } from '../errors.ts';
import type { LockLabel } from '../policy/compiled.ts';
import type { ImmutabilityPolicy } from '../policy/generated/types.ts';
import { resourcePath, type ApiResource, type Discovery } from './discovery.ts';
import type { KubeReader } from './kube-client.ts';
import { getPatiently } from './locked-contents.ts';
import { isForbidden } from './listable.ts';

const METADATA_ONLY = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const PAGE = 500;
/** More locked objects than this in one check is not plausible; refuse rather than stall. */
const MOST = 20_000;

type Labels = Readonly<Record<string, string>>;

interface MetadataList {
  items?: { metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } }[];
  metadata?: { continue?: string };
}

/**
 * The (group, kind) pairs a policy object covers; undefined means every kind. No object (before a CREATE, after a
 * DELETE) covers none.
 */
function coveredKinds(object: unknown): { group: string; kind: string }[] | undefined {
  if (object === null || object === undefined) return [];
  const resources = (object as ImmutabilityPolicy).spec?.match?.resources;
  if (!resources || resources.length === 0) return undefined;
  const pairs = resources.flatMap((r) =>
    (r.apiGroups && r.apiGroups.length > 0 ? r.apiGroups : ['*']).flatMap((group) =>
      r.kinds.map((kind) => ({ group, kind })),
    ),
  );
  return pairs.some((p) => p.group === '*' && p.kind === '*') ? undefined : pairs;
}

async function resourcesToList(
  discovery: Discovery,
  request: AdmissionRequest,
): Promise<{ resources: ApiResource[]; namespace?: string }> {
  const listable = (await discovery.resources()).filter((r) => r.verbs.includes('list'));
  if (request.kind.kind === 'Namespace')
    return { resources: listable.filter((r) => r.namespaced), ...(request.name ? { namespace: request.name } : {}) };
  const kinds = [coveredKinds(request.oldObject), coveredKinds(request.object)];
  if (kinds.some((k) => k === undefined)) return { resources: listable };
  const pairs = kinds.flat() as { group: string; kind: string }[];
  return {
    resources: listable.filter((r) =>
      pairs.some((p) => (p.group === '*' || p.group === r.group) && (p.kind === '*' || p.kind === r.kind)),
    ),
  };
}

async function listLocked(
  reader: KubeReader,
  r: ApiResource,
  label: LockLabel,
  namespace: string | undefined,
  deadline: number,
  into: LockedObject[],
): Promise<void> {
  const metadataReader: KubeReader = {
    ...reader,
    getJson: (path, options) => reader.getJson(path, { ...options, accept: METADATA_ONLY }),
  };
  const selector = encodeURIComponent(`${label.key}=${label.value}`);
  let next: string | undefined;
  do {
    const page =
      `${resourcePath(r, namespace)}?labelSelector=${selector}&l` +
      `imit=${PAGE}${next ? `&continue=${encodeURIComponent(next)}` : ''}`;
    const list = (await getPatiently(metadataReader, page, deadline)) as MetadataList | undefined;
    for (const item of list?.items ?? []) {
      const m = item.metadata ?? {};
      into.push({
        group: r.group,
        kind: r.kind,
        ...(m.namespace ? { namespace: m.namespace } : {}),
        name: m.name ?? '',
        labels: m.labels ?? {},
      });
    }
    if (into.length > MOST) throw new BaseError('LIST_TOO_LONG', `more than ${MOST} locked objects to check`);
    next = list?.metadata?.continue || undefined;
  } while (next);
}

export async function findExposedObjects(options: {
  reader: KubeReader;
  discovery: Discovery;
  request: AdmissionRequest;
  label: LockLabel;
  timeoutMs: number;
  namespaceLabels: (name: string) => Labels | undefined;
}): Promise<ExposedObjects> {
  const { reader, discovery, request, label } = options;
  const deadline = Date.now() + options.timeoutMs;
  try {
    const { resources, namespace } = await resourcesToList(discovery, request);
    const objects: LockedObject[] = [];
    // Kinds Bulwark may not list (RBAC) are skipped: locking them is refused (unlistable-lock.ts).
    await Promise.all(
      resources.map((r) =>
        listLocked(reader, r, label, namespace, deadline, objects).catch((err) => {
          if (!isForbidden(err)) throw err;
        }),
      ),
    );
    const namespaceLabels = new Map<string, Labels>();
    for (const o of objects) {
      const labels =
        o.namespace === undefined || namespaceLabels.has(o.namespace)
          ? undefined
          : options.namespaceLabels(o.namespace);
      if (labels) namespaceLabels.set(o.namespace!, labels);
    }
    return { status: 'listed', objects, namespaceLabels };
  } catch (err) {
    return {
      status: 'unavailable',
      reason: `cannot list the locked objects it could affect: ${(err as Error).message}`,
    };
  }
}
