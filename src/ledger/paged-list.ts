// The audit's paged lists (issue 19): `limit`/`continue`, each page handed on and let go before
// the next is asked for, so the leader holds one page of objects, never a whole kind's. A paged
// list is consistent at its first page's resourceVersion. When the server has compacted past
// it (410 Gone on a `continue`), the list starts again from the start, as Kubernetes' own
// clients do: an object already handed on at the same resourceVersion is not handed on twice,
// a changed one is handed on again, and those the fresh list no longer holds are returned
// apart. A list that keeps expiring fails like any failed list request (ListingError): the
// caller reports it incomplete. Used by the locked-object listing (locked-objects.ts) and the
// running Pods' (running-pods.ts).

import type { KubeObject } from '../admission/types.ts';
import { isBulwarkError, messageOf } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';

/** Objects per list request: a page of ConfigMaps is a few hundred KB. */
export const PAGE_SIZE = 500;
/** Fresh lists after expired continue tokens, before a listing counts as failed. */
export const RELISTS = 3;

export interface ListingIo {
  get: (path: string) => Promise<unknown>;
  logger: Logger;
  pageSize?: number;
}

export interface Page {
  items?: KubeObject[];
  metadata?: { resourceVersion?: string; continue?: string };
}

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

/** A failed list request (or a list that kept expiring), told apart from a failed judgement of a listed object. */
export class ListingError extends Error {
  readonly failure: unknown;
  constructor(failure: unknown) {
    super(messageOf(failure));
    this.failure = failure;
  }
}
export const isListingError = (err: unknown): err is ListingError => err instanceof ListingError;

/** A listed object with a uid and a name; `again` when a fresh list found it changed since it was handed on. */
export interface Listed {
  item: KubeObject & { metadata: { uid: string; name: string } };
  again: boolean;
}

export interface PagedListing<K> {
  /** What is kept of a handed-on object, to name it should a fresh list no longer hold it (keep it small). */
  keep(item: Listed['item']): K;
  /** The objects of one page not handed on yet (or changed since). */
  onPage(listed: Listed[]): Promise<void>;
}

export interface Listing<K> {
  /** The first page's resourceVersion of the list that completed. */
  resourceVersion: string | undefined;
  /** Objects the completed list holds. */
  held: number;
  /** Handed on from lists that expired, not held by the completed one (deleted, or no longer selected). */
  vanished: K[];
}

/** Lists `path` to its end, again from the start when its continue token expires; `what` names it in logs. */
export async function listPaged<K>(
  io: ListingIo,
  path: string,
  what: string,
  handlers: PagedListing<K>,
): Promise<Listing<K>> {
  /** Handed on from lists that expired, by uid: handed on again only when changed. */
  let handed = new Map<string, { resourceVersion: string; kept: K }>();
  for (let relist = 0; ; relist++) {
    const seen = new Map<string, { resourceVersion: string; kept: K }>();
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
        const fresh: Listed[] = [];
        for (const item of next.value.items ?? []) {
          const { uid, name } = item.metadata ?? {};
          if (!uid || !name) continue;
          const listed = item as Listed['item'];
          const itemVersion = item.metadata?.resourceVersion ?? '';
          seen.set(uid, { resourceVersion: itemVersion, kept: handlers.keep(listed) });
          const before = handed.get(uid);
          if (before?.resourceVersion !== itemVersion) fresh.push({ item: listed, again: !!before });
        }
        await handlers.onPage(fresh);
      }
    } catch (err) {
      // Only a continue token expires (a later page); the first page of a fresh list cannot.
      if (!(isListingError(err) && isExpired(err.failure) && read > 0 && relist < RELISTS)) throw err;
      io.logger.info({ list: what, relist: relist + 1 }, 'audit: list expired; listing again');
      handed = new Map([...handed, ...seen]);
      continue;
    }
    const vanished = [...handed].filter(([uid]) => !seen.has(uid)).map(([, { kept }]) => kept);
    return { resourceVersion, held: seen.size, vanished };
  }
}
