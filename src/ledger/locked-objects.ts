// The scan's listing: every locked object of every served kind, label-selected on the
// server, one list per resource. A kind Bulwark may not list cannot hold locks (the lock
// label is refused on it: rules/guards/unlistable-lock.ts), so a 403 is expected; any other
// failure makes the listing incomplete, and the namespace marks then add no mark from it.
// Each list's resourceVersion is where the leader's watch of that resource starts.

import type { KubeObject } from '../admission/types.ts';
import type { SealTarget } from '../attestation/seal.ts';
import { resourcePath, type ApiResource } from '../cluster/discovery.ts';
import { isForbidden } from '../cluster/listable.ts';
import { messageOf } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { apiVersionOf } from './events.ts';
import type { WatchStart } from './watches.ts';

export interface Located {
  target: SealTarget;
  object: KubeObject;
  resource: ApiResource;
}

export async function listLockedObjects(
  io: { get: (path: string) => Promise<unknown>; logger: Logger },
  resources: readonly ApiResource[],
  selector: string,
  watchFrom: WatchStart[],
): Promise<{ found: Map<string, Located>; complete: boolean }> {
  const { get, logger } = io;
  const found = new Map<string, Located>();
  let complete = true;
  for (const r of resources) {
    let list: { items?: KubeObject[]; metadata?: { resourceVersion?: string } } | undefined;
    try {
      list = (await get(`${resourcePath(r)}?labelSelector=${encodeURIComponent(selector)}`)) as typeof list;
    } catch (err) {
      if (isForbidden(err)) logger.debug({ resource: `${r.resource}.${r.group}` }, 'audit: may not list');
      else {
        logger.warn({ resource: `${r.resource}.${r.group}`, err: messageOf(err) }, 'audit: cannot list');
        complete = false;
      }
      continue;
    }
    const resourceVersion = list?.metadata?.resourceVersion;
    if (resourceVersion && (list?.items?.length ?? 0) > 0) watchFrom.push({ resource: r, resourceVersion });
    for (const item of list?.items ?? []) {
      const uid = item.metadata?.uid;
      if (!uid || !item.metadata?.name) continue;
      const apiVersion = apiVersionOf(r);
      const namespace = item.metadata.namespace;
      const target = { apiVersion, kind: r.kind, ...(namespace ? { namespace } : {}), name: item.metadata.name, uid };
      found.set(uid, { target, object: { ...item, apiVersion, kind: r.kind }, resource: r });
    }
  }
  return { found, complete };
}
