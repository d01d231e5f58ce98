// The scan's listing: every locked object of every served kind, label-selected on the
// server, one paged list per resource (paged-list.ts, issue 19): each page's objects are
// handed to the scan and let go before the next page is asked for. A kind Bulwark may not
// list cannot hold locks (the lock label is refused on it: rules/guards/unlistable-lock.ts),
// so a 403 is expected; any other failure, or a list whose continue token keeps expiring,
// makes the listing incomplete, and the namespace marks then add no mark from it. The
// leader's watch of a resource starts at the resourceVersion of the list that completed.
// After an expired continue token (410) the resource is listed again: objects already judged
// at the same resourceVersion are not judged twice, changed ones are judged again, and those
// the new list no longer holds are reported apart.

import type { KubeObject } from '../admission/types.ts';
import type { SealTarget } from '../attestation/seal.ts';
import { resourcePath, type ApiResource } from '../cluster/discovery.ts';
import { isForbidden } from '../cluster/listable.ts';
import { messageOf } from '../errors.ts';
import { apiVersionOf } from './events.ts';
import { isExpired, isListingError, listPaged, type Listed, type ListingIo } from './paged-list.ts';
import type { WatchStart } from './watches.ts';

export interface Located {
  target: SealTarget;
  object: KubeObject;
  resource: ApiResource;
}

export interface ListingHandlers {
  /** Each locked object, once; `again` when a fresh list (after a 410) found it changed since it was judged. */
  onObject(found: Located, again: boolean): Promise<void>;
  /** An object judged from an expired list that the fresh list no longer holds (deleted or unlabelled since). */
  onVanished(target: SealTarget, resource: ApiResource): Promise<void>;
}

export async function listLockedObjects(
  io: ListingIo,
  resources: readonly ApiResource[],
  selector: string,
  handlers: ListingHandlers,
  watchFrom: WatchStart[],
): Promise<{ complete: boolean }> {
  const { logger } = io;
  let complete = true;
  for (const r of resources) {
    try {
      const start = await listResource(io, r, selector, handlers);
      if (start) watchFrom.push(start);
    } catch (err) {
      if (!isListingError(err)) throw err; // a judgement failed: the scan fails, as before paging
      const cause = err.failure;
      const resource = `${r.resource}.${r.group}`;
      if (isForbidden(cause)) logger.debug({ resource }, 'audit: may not list');
      else {
        const why = isExpired(cause) ? 'its list kept expiring' : messageOf(cause);
        logger.warn({ resource, err: why }, 'audit: cannot list; the listing is incomplete');
        complete = false;
      }
    }
  }
  return { complete };
}

/** Lists one resource page by page; the watch start when it holds locked objects. */
async function listResource(
  io: ListingIo,
  r: ApiResource,
  selector: string,
  handlers: ListingHandlers,
): Promise<WatchStart | undefined> {
  const path = `${resourcePath(r)}?labelSelector=${encodeURIComponent(selector)}`;
  const apiVersion = apiVersionOf(r);
  const targetOf = ({ metadata: { namespace, name, uid } }: Listed['item']): SealTarget => ({
    apiVersion,
    kind: r.kind,
    ...(namespace ? { namespace } : {}),
    name,
    uid,
  });
  const { resourceVersion, held, vanished } = await listPaged(io, path, `${r.resource}.${r.group}`, {
    keep: targetOf,
    async onPage(listed) {
      for (const { item, again } of listed)
        await handlers.onObject(
          { target: targetOf(item), object: { ...item, apiVersion, kind: r.kind }, resource: r },
          again,
        );
    },
  });
  for (const target of vanished) await handlers.onVanished(target, r);
  return resourceVersion && held > 0 ? { resource: r, resourceVersion } : undefined;
}
