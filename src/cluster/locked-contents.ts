// Lists the locked objects a Namespace or CRD still holds, for the deletion guards:
// every namespaced, listable resource in the namespace (in parallel, with a deadline),
// or the CRD's own resource cluster-wide, filtered by the lock label on the server.

import type { AdmissionRequest } from '../admission/types.ts';
import type { LockedContents } from '../decision/facts.ts';
import type { LockLabel } from '../policy/compiled.ts';
import { resourcePath, type ApiResource, type Discovery } from './discovery.ts';
import { HttpStatusError, type KubeReader } from './kube-client.ts';

const NAMED = 5;

interface ObjectList { items?: { metadata?: { name?: string; namespace?: string } }[]; metadata?: { continue?: string } }

/**
 * GET with retries while the server says "too many requests" (a freshly established
 * CRD answers 429 "storage is (re)initializing" for a moment), within the deadline.
 */
export async function getPatiently(reader: KubeReader, path: string, deadline: number): Promise<unknown> {
  for (;;) {
    try {
      return await reader.getJson(path, { timeoutMs: Math.max(1, deadline - Date.now()) });
    } catch (err) {
      const wait = Math.min(1000, (err instanceof HttpStatusError && err.status === 429 ? (err.retryAfterSeconds ?? 0.2) * 1000 : Infinity));
      if (!Number.isFinite(wait) || Date.now() + wait >= deadline) throw err;
      await new Promise((r) => setTimeout(r, Math.max(wait, 100)));
    }
  }
}

async function lockedOf(reader: KubeReader, r: ApiResource, label: LockLabel, namespace: string | undefined, timeoutMs: number): Promise<{ names: string[]; more: boolean }> {
  const selector = encodeURIComponent(`${label.key}=${label.value}`);
  const list = await getPatiently(reader, `${resourcePath(r, namespace)}?labelSelector=${selector}&limit=${NAMED}`, Date.now() + timeoutMs) as ObjectList | undefined;
  const names = (list?.items ?? []).map((o) => `${r.kind} ${o.metadata?.namespace && !namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? ''}`);
  return { names, more: Boolean(list?.metadata?.continue) };
}

export async function findLockedContents(options: { reader: KubeReader; discovery: Discovery; request: AdmissionRequest; label: LockLabel; timeoutMs: number }): Promise<LockedContents> {
  const { reader, discovery, request, label, timeoutMs } = options;
  try {
    let found: { names: string[]; more: boolean }[];
    if (request.kind.kind === 'Namespace') {
      const resources = (await discovery.resources()).filter((r) => r.namespaced && r.verbs.includes('list'));
      found = await Promise.all(resources.map((r) => lockedOf(reader, r, label, request.name, timeoutMs)));
    } else {
      const crd = request.oldObject as { spec?: { group?: string; names?: { plural?: string; kind?: string }; versions?: { name: string; storage?: boolean; served?: boolean }[] } } | null | undefined;
      const version = crd?.spec?.versions?.find((v) => v.storage) ?? crd?.spec?.versions?.find((v) => v.served);
      if (!crd?.spec?.group || !crd.spec.names?.plural || !version) return { status: 'unavailable', reason: 'the CRD in the request has no group, plural or version' };
      const resource: ApiResource = { group: crd.spec.group, version: version.name, resource: crd.spec.names.plural, kind: crd.spec.names.kind ?? crd.spec.names.plural, namespaced: false, verbs: ['list'] };
      found = [await lockedOf(reader, resource, label, undefined, timeoutMs)];
    }
    const all = found.flatMap((f) => f.names);
    return { status: 'listed', objects: all.slice(0, NAMED), more: all.length > NAMED || found.some((f) => f.more) };
  } catch (err) {
    return { status: 'unavailable', reason: (err as Error).message };
  }
}
