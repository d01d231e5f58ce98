// The scan's listing: every locked object of every served kind, label-selected on the
// server, one paged list per resource (`limit`/`continue`, issue 19): each page's objects
// are handed to the scan and let go before the next page is asked for, so the leader holds
// one page of objects, never a whole kind's. A kind Bulwark may not list cannot hold locks
// (the lock label is refused on it: rules/guards/unlistable-lock.ts), so a 403 is expected;
// any other failure makes the listing incomplete, and the namespace marks then add no mark
// from it. A paged list is consistent at its first page's resourceVersion, which is where
// the leader's watch of that resource starts. When the server has compacted past it (410
// Gone on a `continue`), the resource is listed again from the start, as Kubernetes' own
// clients do: objects already judged at the same resourceVersion are not judged twice,
// changed ones are judged again, and those the new list no longer holds are reported apart.

import type { KubeObject } from '../admission/types.ts';
import type { SealTarget } from '../attestation/seal.ts';
import { resourcePath, type ApiResource } from '../cluster/discovery.ts';
import { isForbidden } from '../cluster/listable.ts';
import { isBulwarkError, messageOf } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { apiVersionOf } from './events.ts';
import type { WatchStart } from './watches.ts';

/** Objects per list request: a page of ConfigMaps is a few hundred KB. */
export const PAGE_SIZE = 500;
/** Fresh lists of one resource after expired continue tokens, before it counts as not listed. */
const RELISTS = 3;

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

export interface ListingIo {
  get: (path: string) => Promise<unknown>;
  logger: Logger;
  pageSize?: number;
}

interface Page {
  items?: KubeObject[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/** What was judged of one resource: by uid, the resourceVersion seen and the target. */
type Seen = Map<string, { resourceVersion: string; target: SealTarget }>;

/** The server compacted past a paged list's snapshot: its continue token expired. */
export const isExpired = (err: unknown): boolean =>
  isBulwarkError(err, 'KUBE_API_ERROR') && err.upstream?.status === 410;

/** Every page of `path`, in order; a 410 on a later page is thrown as is. */
export async function* pages(get: ListingIo['get'], path: string, pageSize: number): AsyncGenerator<Page> {
  let next = '';
  do {
    const from = next ? `&continue=${encodeURIComponent(next)}` : '';
    const page = (await get(`${path}${path.includes('?') ? '&' : '?'}limit=${pageSize}${from}`)) as Page | undefined;
    if (!page) return; // the resource went away (404): it holds nothing
    yield page;
    next = page.metadata?.continue ?? '';
  } while (next);
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
      if (isForbidden(cause)) logger.debug({ resource: `${r.resource}.${r.group}` }, 'audit: may not list');
      else {
        logger.warn({ resource: `${r.resource}.${r.group}`, err: messageOf(cause) }, 'audit: cannot list');
        complete = false;
      }
    }
  }
  return { complete };
}

/** A failed list request, told apart from a failed judgement of a listed object. */
class ListingError extends Error {
  readonly failure: unknown;
  constructor(failure: unknown) {
    super(messageOf(failure));
    this.failure = failure;
  }
}
const isListingError = (err: unknown): err is ListingError => err instanceof ListingError;

/** Lists one resource page by page; the watch start when it holds locked objects. */
async function listResource(
  io: ListingIo,
  r: ApiResource,
  selector: string,
  handlers: ListingHandlers,
): Promise<WatchStart | undefined> {
  const path = `${resourcePath(r)}?labelSelector=${encodeURIComponent(selector)}`;
  const apiVersion = apiVersionOf(r);
  /** Judged from lists that expired: their objects are judged again only when changed. */
  let judged: Seen = new Map();
  for (let relist = 0; ; relist++) {
    const seen: Seen = new Map();
    let resourceVersion: string | undefined;
    let read = 0;
    const listing = pages(io.get, path, io.pageSize ?? PAGE_SIZE);
    try {
      for (;;) {
        let next: IteratorResult<Page>;
        try {
          next = await listing.next();
        } catch (err) {
          throw new ListingError(err);
        }
        if (next.done) break;
        read += 1;
        resourceVersion ??= next.value.metadata?.resourceVersion;
        for (const item of next.value.items ?? []) {
          const uid = item.metadata?.uid;
          if (!uid || !item.metadata?.name) continue;
          const namespace = item.metadata.namespace;
          const target = {
            apiVersion,
            kind: r.kind,
            ...(namespace ? { namespace } : {}),
            name: item.metadata.name,
            uid,
          };
          const itemVersion = item.metadata.resourceVersion ?? '';
          seen.set(uid, { resourceVersion: itemVersion, target });
          const before = judged.get(uid);
          if (before && before.resourceVersion === itemVersion) continue;
          await handlers.onObject({ target, object: { ...item, apiVersion, kind: r.kind }, resource: r }, !!before);
        }
      }
    } catch (err) {
      // Only a continue token expires (a later page); the first page of a fresh list cannot.
      if (!(isListingError(err) && isExpired(err.failure) && read > 0 && relist < RELISTS)) throw err;
      io.logger.info(
        { resource: `${r.resource}.${r.group}`, relist: relist + 1 },
        'audit: list expired; listing again',
      );
      judged = new Map([...judged, ...seen]);
      continue;
    }
    for (const [uid, { target }] of judged) if (!seen.has(uid)) await handlers.onVanished(target, r);
    return resourceVersion && seen.size > 0 ? { resource: r, resourceVersion } : undefined;
  }
}
