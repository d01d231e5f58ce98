// API discovery: which resources exist, their kinds, plurals and scope, at every served
// version (api-resources.ts). Cached for reading an UnlockRequest's target (kind ->
// resource; a miss is looked up again, so a CRD created a moment ago is found); read
// fresh for the deletion guards, which must see what exists now.

import { loadApiResources } from './api-resources.ts';
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

export interface Discovery {
  resources(): Promise<readonly ApiResource[]>;
  /** Read anew, now (and kept as the cached answer): for decisions that must not miss a new resource. */
  current(): Promise<readonly ApiResource[]>;
  find(group: string, kind: string): Promise<ApiResource | undefined>;
  /** What a person types: `cm`, `configmap`, `deployments.apps`, `Widget`. */
  resolve(typed: string): Promise<ApiResource | undefined>;
}

export function resourcePath(r: ApiResource, namespace?: string, name?: string): string {
  const prefix = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const scope = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${prefix}${scope}/${r.resource}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export function createDiscovery(
  reader: KubeReader,
  options: { ttlMs?: number; timeoutMs?: number; now?: () => number } = {},
): Discovery {
  const ttl = options.ttlMs ?? 60_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  let cached: { at: number; value: Promise<ApiResource[]> } | undefined;

  const reload = () => {
    const value = loadApiResources(reader, timeoutMs);
    cached = { at: now(), value };
    value.catch(() => {
      if (cached?.value === value) cached = undefined;
    });
    return value;
  };
  const resources = () => (!cached || now() - cached.at > ttl ? reload() : cached.value);
  return {
    resources,
    current: reload,
    async find(group, kind) {
      const hit = (await resources()).find((r) => r.group === group && r.kind === kind);
      // Not there: perhaps created since the cache was filled. Look again, at most once a second.
      if (hit || (cached && now() - cached.at < 1000)) return hit;
      return (await reload()).find((r) => r.group === group && r.kind === kind);
    },
    async resolve(typed) {
      const dot = typed.indexOf('.');
      const name = (dot < 0 ? typed : typed.slice(0, dot)).toLowerCase();
      const group = dot < 0 ? undefined : typed.slice(dot + 1);
      const all = (await resources()).filter((r) => group === undefined || r.group === group);
      const hits = all.filter(
        (r) =>
          r.resource === name ||
          r.singularName === name ||
          r.kind.toLowerCase() === name ||
          r.shortNames?.includes(name),
      );
      // Prefer the core and built-in groups, as kubectl does for ambiguous names.
      return (
        hits.find((r) => r.group === '') ??
        hits.find((r) => !r.group.includes('.') || r.group.endsWith('.k8s.io')) ??
        hits[0]
      );
    },
  };
}
