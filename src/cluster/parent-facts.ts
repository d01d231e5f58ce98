// Looks up the parent object of `scale` and `eviction` requests, whose request objects
// (Scale, Eviction) do not carry the parent's labels. Failures are reported as
// "unavailable", which the core turns into a denial (fail closed).

import type { AdmissionRequest, KubeObject } from '../admission/types.ts';
import { needsParent, type RequestFacts } from '../decision/facts.ts';
import type { FactResolver } from '../decision/decide.ts';
import type { KubeReader } from './kube-client.ts';

export function objectPath(request: AdmissionRequest): string {
  const { group, version, resource } = request.resource;
  const prefix = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  const ns = request.namespace ? `/namespaces/${encodeURIComponent(request.namespace)}` : '';
  return `${prefix}${ns}/${resource}/${encodeURIComponent(request.name ?? '')}`;
}

export function parentFactResolver(reader: KubeReader, timeoutMs: number): FactResolver {
  return async (request): Promise<RequestFacts> => {
    if (!needsParent(request)) return {};
    if (!request.name) return { parent: { status: 'unavailable', reason: 'the request names no object' } };
    try {
      const object = await reader.getJson(objectPath(request), { timeoutMs });
      return { parent: object === undefined ? { status: 'absent' } : { status: 'found', object: object as KubeObject } };
    } catch (err) {
      return { parent: { status: 'unavailable', reason: (err as Error).message } };
    }
  };
}
