// Facts the shell looks up before the core decides: the parent object of `scale` and
// `eviction` requests, whose request objects (Scale, Eviction) do not carry the parent's
// labels, and the labels of the request's namespace (from the namespace informer's
// cache). A failed lookup is reported "unavailable", which the core turns into a denial.

import type { AdmissionRequest, KubeObject } from '../admission/types.ts';
import { needsParent, type ParentFact, type RequestFacts } from '../decision/facts.ts';
import type { FactResolver } from '../decision/decide.ts';
import type { KubeReader } from './kube-client.ts';

export function objectPath(request: AdmissionRequest): string {
  const { group, version, resource } = request.resource;
  const prefix = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  const ns = request.namespace ? `/namespaces/${encodeURIComponent(request.namespace)}` : '';
  return `${prefix}${ns}/${resource}/${encodeURIComponent(request.name ?? '')}`;
}

async function lookupParent(reader: KubeReader, request: AdmissionRequest, timeoutMs: number): Promise<ParentFact> {
  if (!request.name) return { status: 'unavailable', reason: 'the request names no object' };
  try {
    const object = await reader.getJson(objectPath(request), { timeoutMs });
    return object === undefined ? { status: 'absent' } : { status: 'found', object: object as KubeObject };
  } catch (err) {
    return { status: 'unavailable', reason: (err as Error).message };
  }
}

export function clusterFactResolver(options: {
  reader: KubeReader;
  timeoutMs: number;
  namespaceLabels: (name: string) => Readonly<Record<string, string>> | undefined;
}): FactResolver {
  return async (request): Promise<RequestFacts> => {
    const facts: RequestFacts = {};
    if (request.namespace) {
      const labels = options.namespaceLabels(request.namespace);
      if (labels) facts.namespaceLabels = labels;
    }
    if (needsParent(request)) facts.parent = await lookupParent(options.reader, request, options.timeoutMs);
    return facts;
  };
}
