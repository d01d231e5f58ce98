// Every resource the API serves now, each once, at a version that serves it: the
// group's preferred version when it has the resource, else the first (most preferred)
// version that does. A kind served only at an older version of its group is not missed.
//
// Read with aggregated discovery (apidiscovery.k8s.io/v2: two requests for the whole
// API), or, from an apiserver without it, one request per group version.

import type { ApiResource } from './discovery.ts';
import type { KubeReader } from './kube-client.ts';

const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';

interface DiscoveredResource {
  resource: string;
  kind?: string;
  namespaced: boolean;
  verbs: string[];
  singularName?: string;
  shortNames?: string[];
}
interface GroupVersions {
  group: string;
  versions: { version: string; resources: DiscoveredResource[] }[];
}

interface AggregatedList {
  kind?: string;
  items?: {
    metadata?: { name?: string };
    versions?: {
      version: string;
      resources?: {
        resource: string;
        responseKind?: { kind?: string };
        scope?: string;
        verbs?: string[];
        singularResource?: string;
        shortNames?: string[];
      }[];
    }[];
  }[];
}
interface ResourceList {
  resources?: {
    name: string;
    kind: string;
    namespaced: boolean;
    verbs?: string[];
    singularName?: string;
    shortNames?: string[];
  }[];
}
interface GroupList {
  groups?: { name: string; versions?: { version: string }[]; preferredVersion?: { version: string } }[];
}

function fromAggregated(list: AggregatedList): GroupVersions[] {
  return (list.items ?? []).map((g) => ({
    group: g.metadata?.name ?? '',
    // Listed in order of preference, the preferred version first.
    versions: (g.versions ?? []).map((v) => ({
      version: v.version,
      resources: (v.resources ?? []).map((r) => ({
        resource: r.resource,
        ...(r.responseKind?.kind ? { kind: r.responseKind.kind } : {}),
        namespaced: r.scope === 'Namespaced',
        verbs: r.verbs ?? [],
        ...(r.singularResource ? { singularName: r.singularResource } : {}),
        ...(r.shortNames ? { shortNames: r.shortNames } : {}),
      })),
    })),
  }));
}

async function legacy(reader: KubeReader, timeoutMs: number): Promise<GroupVersions[]> {
  const groups = ((await reader.getJson('/apis', { timeoutMs })) as GroupList | undefined)?.groups ?? [];
  const wanted = [
    { group: '', versions: ['v1'] },
    ...groups.map((g) => {
      const all = (g.versions ?? []).map((v) => v.version);
      const preferred = g.preferredVersion?.version;
      return { group: g.name, versions: preferred ? [preferred, ...all.filter((v) => v !== preferred)] : all };
    }),
  ];
  return Promise.all(
    wanted.map(async ({ group, versions }) => ({
      group,
      versions: await Promise.all(
        versions.map(async (version) => {
          // A group version that vanished since /apis was read (404) serves nothing.
          const list = (await reader.getJson(group === '' ? `/api/${version}` : `/apis/${group}/${version}`, {
            timeoutMs,
          })) as ResourceList | undefined;
          return {
            version,
            resources: (list?.resources ?? []).map((r) => ({ ...r, resource: r.name, verbs: r.verbs ?? [] })),
          };
        }),
      ),
    })),
  );
}

async function discover(reader: KubeReader, timeoutMs: number): Promise<GroupVersions[]> {
  const [core, groups] = await Promise.all([
    reader.getJson('/api', { timeoutMs, accept: AGGREGATED }) as Promise<AggregatedList | undefined>,
    reader.getJson('/apis', { timeoutMs, accept: AGGREGATED }) as Promise<AggregatedList | undefined>,
  ]);
  if (core?.kind !== 'APIGroupDiscoveryList' || groups?.kind !== 'APIGroupDiscoveryList')
    return legacy(reader, timeoutMs);
  return [...fromAggregated(core).map((g) => ({ ...g, group: '' })), ...fromAggregated(groups)];
}

/** Every top-level resource (subresources left out), once per group, at the most preferred version serving it. */
export async function loadApiResources(reader: KubeReader, timeoutMs: number): Promise<ApiResource[]> {
  const found: ApiResource[] = [];
  for (const { group, versions } of await discover(reader, timeoutMs)) {
    const seen = new Set<string>();
    for (const { version, resources } of versions) {
      for (const r of resources) {
        if (r.resource.includes('/') || seen.has(r.resource)) continue;
        seen.add(r.resource);
        found.push({
          group,
          version,
          resource: r.resource,
          kind: r.kind ?? r.resource,
          namespaced: r.namespaced,
          verbs: r.verbs,
          ...(r.singularName ? { singularName: r.singularName } : {}),
          ...(r.shortNames ? { shortNames: r.shortNames } : {}),
        });
      }
    }
  }
  return found;
}
