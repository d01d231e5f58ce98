// Index of immutability policies by (API group, kind), so a request looks only at the
// policies that can match its resource, however many exist in total.

import type { CompiledImmutabilityPolicy, ImmutabilityIndex } from './compiled.ts';

const key = (group: string, kind: string) => `${group}\u0000${kind}`;

export function buildImmutabilityIndex(policies: readonly CompiledImmutabilityPolicy[]): ImmutabilityIndex {
  const buckets = new Map<string, CompiledImmutabilityPolicy[]>();
  for (const policy of policies) {
    const keys = new Set(policy.resources.map((r) => key(r.group, r.kind)));
    for (const k of keys) {
      const bucket = buckets.get(k);
      if (bucket) bucket.push(policy);
      else buckets.set(k, [policy]);
    }
  }
  const empty: readonly CompiledImmutabilityPolicy[] = [];
  return {
    size: policies.length,
    lookup(group, kind) {
      const found: CompiledImmutabilityPolicy[] = [];
      for (const k of [key(group, kind), key('*', kind), key(group, '*'), key('*', '*')]) {
        const bucket = buckets.get(k);
        if (bucket) for (const p of bucket) if (!found.includes(p)) found.push(p);
      }
      return found.length > 0 ? found : empty;
    },
  };
}
