// API discovery, cached: which resources exist, their kinds, plurals and scope. Needed
// to read an UnlockRequest's target (kind -> resource) and to list everything in a
// namespace that is about to be deleted.

import type { KubeReader } from './kube-client.ts';

export interface ApiResource {
  group: string;
  version: string;
  /** Plural resource name as used in URLs. */
  resource: string;
  kind: string;
  namespaced: boolean;
  verbs: readonly string[];
  singularName?: string;
  shortNames?: readonly string[];
}

interface ResourceList { resources?: { name: string; kind: string; namespaced: boolean; verbs?: string[]; singularName?: string; shortNames?: string[] }[] }
interface GroupList { groups?: { name: string; preferredVersion?: { version: string } }[] }

export interface Discovery {
  resources(): Promise<readonly ApiResource[]>;
  find(group: string, kind: string): Promise<ApiResource | undefined>;
  /** What a person types: `cm`, `configmap`, `deployments.apps`, `Widget`. */
  resolve(typed: string): Promise<ApiResource | undefined>;
}

export function resourcePath(r: ApiResource, namespace?: string, name?: string): string {
  const prefix = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  return `${prefix}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${r.resource}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export function createDiscovery(reader: KubeReader, options: { ttlMs?: number; timeoutMs?: number; now?: () => number } = {}): Discovery {
  const ttl = options.ttlMs ?? 60_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  let cached: { at: number; value: Promise<ApiResource[]> } | undefined;

  async function load(): Promise<ApiResource[]> {
    const groups = (await reader.getJson('/apis', { timeoutMs }) as GroupList | undefined)?.groups ?? [];
    const versions: { group: string; version: string; path: string }[] = [{ group: '', version: 'v1', path: '/api/v1' }];
    for (const g of groups) if (g.preferredVersion) versions.push({ group: g.name, version: g.preferredVersion.version, path: `/apis/${g.name}/${g.preferredVersion.version}` });
    const lists = await Promise.all(versions.map(async (v) => ({ v, list: await reader.getJson(v.path, { timeoutMs }) as ResourceList | undefined })));
    return lists.flatMap(({ v, list }) => (list?.resources ?? [])
      .filter((r) => !r.name.includes('/'))
      .map((r) => ({
        group: v.group, version: v.version, resource: r.name, kind: r.kind, namespaced: r.namespaced, verbs: r.verbs ?? [],
        ...(r.singularName ? { singularName: r.singularName } : {}), ...(r.shortNames ? { shortNames: r.shortNames } : {}),
      })));
  }

  const resources = () => {
    if (!cached || now() - cached.at > ttl) {
      const value = load();
      cached = { at: now(), value };
      value.catch(() => { if (cached?.value === value) cached = undefined; });
    }
    return cached.value;
  };
  return {
    resources,
    async find(group, kind) {
      return (await resources()).find((r) => r.group === group && r.kind === kind);
    },
    async resolve(typed) {
      const dot = typed.indexOf('.');
      const name = (dot < 0 ? typed : typed.slice(0, dot)).toLowerCase();
      const group = dot < 0 ? undefined : typed.slice(dot + 1);
      const all = (await resources()).filter((r) => group === undefined || r.group === group);
      const hits = all.filter((r) => r.resource === name || r.singularName === name || r.kind.toLowerCase() === name || r.shortNames?.includes(name));
      // Prefer the core and built-in groups, as kubectl does for ambiguous names.
      return hits.find((r) => r.group === '') ?? hits.find((r) => !r.group.includes('.') || r.group.endsWith('.k8s.io')) ?? hits[0];
    },
  };
}
