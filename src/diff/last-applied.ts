// Whether kubectl's last-applied annotation states nothing but the object's content.
// kubectl (client-side apply, `--save-config`) and the apiserver (server-side apply by
// kubectl on an object that has the annotation) write it as the manifest applied,
// encoded by Go's encoding/json. A legitimate new value is therefore:
// - exactly Go's encoding of a JSON object (compact, keys sorted, Go's escapes), which
//   leaves no room for data in whitespace, escapes or key order;
// - a subset of the new object: every field it states has that value in the object.
//   Lists compare index by index and the object's list may be longer (admission plugins
//   append, e.g. the service-account token volume); quantities compare by value ("0.5"
//   is stored as "500m"); a Secret's stringData compares with its data; null states
//   nothing. A field the object lacks may be stated only empty (null, false, 0, "", [],
//   {}: what the apiserver drops), with a field-like name, at most MAX_ABSENT_EMPTY times.
// - status and the system metadata (resourceVersion, generation, ...) may state the
//   old object's value instead, as a manifest saved with `kubectl get -o yaml` does.

import type { KubeObject } from '../admission/types.ts';
import { isJsonNumber, isRawNumber, sameNumber } from '../json/numbers.ts';
import { parseGoCanonicalJson } from '../json/parse.ts';
import { sameQuantity } from './quantity.ts';

/** How many fields the object lacks the annotation may state (empty). */
export const MAX_ABSENT_EMPTY = 32;
/** How a Kubernetes field is named (a key the apiserver could have omitted as empty). */
export const FIELD_NAME = /^[A-Za-z][A-Za-z0-9]{0,62}$/;

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isRawNumber(value);
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return isObject(value) && Object.keys(value).length === 0;
}

function literal(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return isRawNumber(value) ? value.rawJSON : undefined;
}

function sameScalar(stated: unknown, live: unknown): boolean {
  if (stated === live) return true;
  if (isJsonNumber(stated) && isJsonNumber(live) && sameNumber(stated, live)) return true;
  const a = literal(stated);
  return a !== undefined && typeof live === 'string' && sameQuantity(a, live);
}

class Agreement {
  private absentEmpty = 0;

  /** Whether every field `stated` states has that value in `live` (no recursion). */
  holds(stated: unknown, live: unknown): boolean {
    const pending: [unknown, unknown][] = [[stated, live]];
    for (let pair = pending.pop(); pair !== undefined; pair = pending.pop()) {
      const [s, l] = pair;
      if (s === null) continue;
      if (Array.isArray(s)) {
        if (!Array.isArray(l) || l.length < s.length) return false;
        for (let i = 0; i < s.length; i++) pending.push([s[i], l[i]]);
      } else if (isObject(s)) {
        if (!isObject(l)) return false;
        for (const key of Object.keys(s)) {
          const value = s[key];
          if (Object.hasOwn(l, key) && l[key] !== undefined) pending.push([value, l[key]]);
          else if (!this.absentMayBeStated(key, value)) return false;
        }
      } else if (!sameScalar(s, l)) {
        return false;
      }
    }
    return true;
  }

  private absentMayBeStated(key: string, value: unknown): boolean {
    return isEmpty(value) && FIELD_NAME.test(key) && ++this.absentEmpty <= MAX_ABSENT_EMPTY;
  }
}

/** A Secret's stringData is folded into data by the apiserver: compare the bytes. */
function stringDataAgrees(stringData: unknown, data: unknown): boolean {
  if (!isObject(stringData) || !isObject(data)) return stringData === null;
  return Object.entries(stringData).every(
    ([key, value]) =>
      typeof value === 'string' &&
      typeof data[key] === 'string' &&
      Buffer.from(data[key], 'base64').equals(Buffer.from(value, 'utf8')),
  );
}

/**
 * Whether `text`, as the new value of the last-applied annotation, states nothing but the
 * content of `newObject` (bookkeeping: of either version). `systemMetadata` names the
 * metadata fields the apiserver maintains.
 */
export function lastAppliedAgrees(
  text: string,
  newObject: KubeObject,
  oldObject: KubeObject,
  systemMetadata: ReadonlySet<string>,
): boolean {
  const stated = parseGoCanonicalJson(text);
  if (!isObject(stated)) return false;
  const { status, metadata, ...content } = stated;
  if (metadata !== undefined && !isObject(metadata)) return false;
  if (newObject.kind === 'Secret' && newObject.apiVersion === 'v1' && content.stringData !== undefined) {
    if (!stringDataAgrees(content.stringData, newObject.data)) return false;
    delete content.stringData;
  }
  const own: JsonObject = { ...metadata };
  const bookkeeping: JsonObject = {};
  for (const key of systemMetadata) {
    if (Object.hasOwn(own, key)) {
      bookkeeping[key] = own[key];
      delete own[key];
    }
  }
  const agreement = new Agreement();
  if (!agreement.holds(metadata === undefined ? content : { ...content, metadata: own }, newObject)) return false;
  // Observed state and system metadata: either version's value, field by field.
  const either = (s: JsonObject, pick: (o: KubeObject) => JsonObject) =>
    agreement.holds(s, pick(newObject)) || agreement.holds(s, pick(oldObject));
  if (status !== undefined && !either({ status }, (o) => ({ status: o.status }))) return false;
  return Object.entries(bookkeeping).every(([key, value]) =>
    either({ [key]: value }, (o) => ({ [key]: o.metadata?.[key] })),
  );
}
