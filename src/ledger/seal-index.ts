// The seals a scan judges the listed objects against. They are read before the objects,
// page by page as the objects are (locked-objects.ts), and kept until their object is
// listed: for 10,000 locked objects that is 10,000 seals, so each is kept as the JSON text
// of what the judgement reads (name, resourceVersion, spec; not the apiserver's
// managedFields), several times lighter than the parsed object, and parsed when taken
// (issue 19). Only the leader writes seals, one judgement at a time (auditor.ts), so
// reading them first sees the same seals as reading them after the objects. What is left
// once the listing is done names objects it did not find locked.

import { SEALS_PATH } from '../attestation/seal.ts';
import type { Logger } from '../observability/logger.ts';
import type { StoredSeal } from './events.ts';
import { isExpired, pages, PAGE_SIZE, RELISTS, type ListingIo } from './paged-list.ts';

export interface SealIndex {
  /** The seal of `uid`, removed from the index; undefined when there is none. */
  take(uid: string): StoredSeal | undefined;
  /** The seals not taken yet, by uid, removing them as they are read. */
  rest(): Generator<[string, StoredSeal]>;
}

/** Every seal, by uid (a seal is named by its object's uid). */
export async function readSeals(io: Pick<ListingIo, 'get' | 'pageSize'> & { logger: Logger }): Promise<SealIndex> {
  const texts = new Map<string, string>();
  for (let relist = 0; ; relist++) {
    texts.clear();
    try {
      for await (const page of pages(io.get, SEALS_PATH, io.pageSize ?? PAGE_SIZE)) {
        for (const s of (page.items ?? []) as unknown as StoredSeal[]) {
          const { name, resourceVersion } = s.metadata ?? {};
          if (!name) continue;
          const kept = { metadata: { name, ...(resourceVersion ? { resourceVersion } : {}) }, spec: s.spec };
          texts.set(name, JSON.stringify(kept));
        }
      }
      break;
    } catch (err) {
      if (!isExpired(err) || relist >= RELISTS) throw err;
      io.logger.info({ relist: relist + 1 }, 'audit: seal list expired; listing again');
    }
  }
  const parse = (text: string) => JSON.parse(text) as StoredSeal;
  return {
    take(uid) {
      const text = texts.get(uid);
      if (text === undefined) return undefined;
      texts.delete(uid);
      return parse(text);
    },
    *rest() {
      for (const [uid, text] of texts) {
        texts.delete(uid);
        yield [uid, parse(text)];
      }
    },
  };
}
