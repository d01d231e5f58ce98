// Index of immutability policies by (API group, kind) and, for policies limited to
// namespaces by name, by namespace: a request looks only at the policies that can
// match it, however many exist in total (1,000 per-team policies cost what 1 does).

import type { CompiledImmutabilityPolicy, ImmutabilityIndex } from './compiled.ts';

const key = (group: string, kind: string) => `${group}\u0000${kind}`;

interface Bucket {
  /** Policies not limited to literal namespace names: always candidates. */
  any: CompiledImmutabilityPolicy[];
  byNamespace: Map<string, CompiledImmutabilityPolicy[]>;
}

function push<K>(map: Map<K, CompiledImmutabilityPolicy[]>, k: K, policy: CompiledImmutabilityPolicy): void {
  const list = map.get(k);
  if (list) list.push(policy);
  else map.set(k, [policy]);
}

export function buildImmutabilityIndex(policies: readonly CompiledImmutabilityPolicy[]): ImmutabilityIndex {
  const buckets = new Map<string, Bucket>();
  for (const policy of policies) {
    for (const k of new Set(policy.resources.map((r) => key(r.group, r.kind)))) {
      const bucket: Bucket = buckets.get(k) ?? { any: [], byNamespace: new Map() };
      buckets.set(k, bucket);
      if (policy.indexNamespaces) for (const ns of policy.indexNamespaces) push(bucket.byNamespace, ns, policy);
      else bucket.any.push(policy);
    }
  }
  const empty: readonly CompiledImmutabilityPolicy[] = [];
  return {
    size: policies.length,
    lookup(group, kind, namespace) {
      const found: CompiledImmutabilityPolicy[] = [];
      for (const k of [key(group, kind), key('*', kind), key(group, '*'), key('*', '*')]) {
        const bucket = buckets.get(k);
        if (!bucket) continue;
        const candidates =
          namespace === undefined ? bucket.any : [...bucket.any, ...(bucket.byNamespace.get(namespace) ?? [])];
        for (const p of candidates) if (!found.includes(p)) found.push(p);
      }
      return found.length > 0 ? found : empty;
    },
  };
}
