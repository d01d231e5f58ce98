// Whether Bulwark may list a resource cluster-wide. The chart's RBAC names the resources
// Bulwark lists (Secrets only with rbac.listSecrets, custom resources only as the
// operator names them), so some kinds are out of its sight. The deletion guards cannot
// see locked objects of such a kind; instead of blocking every namespace deletion over
// it, Bulwark refuses to lock objects of a kind it may not list (rules/guards/
// unlistable-lock.ts) and the guards skip those kinds. One metadata-only list of a single
// item answers the question; answers are kept a minute (RBAC rarely changes).

import { isBulwarkError } from '../errors.ts';
import type { KubeReader } from './kube-client.ts';

const METADATA_ONLY = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const KEEP_MS = 60_000;
/** Distinct resources remembered; a cluster serves a few hundred. */
const MOST = 2048;

export interface ResourceRef {
  group: string;
  version: string;
  resource: string;
}

/** The API server refused a request for lack of permission (HTTP 403). */
export const isForbidden = (err: unknown): boolean =>
  isBulwarkError(err, 'KUBE_API_ERROR') && err.upstream?.status === 403;

/** `listable`, `forbidden`, or `unknown` when the API server gave no clear answer. */
export type Listability = 'listable' | 'forbidden' | 'unknown';

export function createListableCheck(
  reader: Pick<KubeReader, 'getJson'>,
  options: { now?: () => number } = {},
): (r: ResourceRef, timeoutMs: number) => Promise<Listability> {
  const now = options.now ?? Date.now;
  const known = new Map<string, { at: number; answer: Listability }>();
  return async (r, timeoutMs) => {
    const key = `${r.resource}.${r.group}/${r.version}`;
    const hit = known.get(key);
    if (hit && now() - hit.at < KEEP_MS) return hit.answer;
    const prefix = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
    let answer: Listability;
    try {
      await reader.getJson(`${prefix}/${r.resource}?limit=1`, { timeoutMs, accept: METADATA_ONLY });
      answer = 'listable';
    } catch (err) {
      answer = isForbidden(err) ? 'forbidden' : 'unknown';
    }
    if (answer !== 'unknown') {
      if (known.size >= MOST) known.clear();
      known.set(key, { at: now(), answer });
    }
    return answer;
  };
}
