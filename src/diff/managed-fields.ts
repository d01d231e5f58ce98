// Whether a change of metadata.managedFields is the apiserver's bookkeeping (pure).
// The apiserver rewrites managedFields on every write, so churn there is no change of the
// object. But a client may send managedFields of its own, and the apiserver keeps them as
// sent, checking only their shape: field sets naming fields the object does not have, any
// number of Apply entries under invented manager names. Taken as bookkeeping, that carried
// any amount of data onto a locked object (and lets a forger make the owner's next
// server-side apply compute deletions). So a locked object's managedFields may change only
// the way the apiserver changes them on a write that changes no content:
// - an entry that was there (same manager, operation, subresource and apiVersion) keeps
//   its fields or loses some (the apiserver drops fields that are gone); its time may move;
// - one entry may be new or gain fields: the writer's own (the request's field manager,
//   when it names one), at the object's apiVersion, naming only fields the object has,
//   except a few empty values the apiserver omits when storing (`hostNetwork: false` is
//   owned, yet absent): at most MAX_ABSENT_EMPTY, with field-like names;
// - the apiserver's merge of old Update entries (`ancient-changes`) may appear, owning
//   fields the object has.
// What a forger can still write is one manager name (at most 128 characters) per write,
// in Update entries, of which the apiserver keeps ten.

import type { KubeObject } from '../admission/types.ts';
import { isJsonNumber, isRawNumber, sameNumber } from '../json/numbers.ts';
import { FIELD_NAME, MAX_ABSENT_EMPTY } from './last-applied.ts';

/** The name under which the apiserver merges the oldest Update entries beyond ten. */
const MERGED_UPDATES = 'ancient-changes';
/** A longer field-set key names nothing an object has (and is not parsed). */
const MAX_KEY_LENGTH = 4096;

type Node = Record<string, unknown>;

interface Entry {
  key: string;
  manager: string;
  operation: string;
  apiVersion: string;
  fields: Node;
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isRawNumber(value);
}

function isEmpty(node: Node): boolean {
  for (const key in node) if (Object.hasOwn(node, key)) return false;
  return true;
}

/** The entries, or undefined when one is malformed (then nothing is taken as bookkeeping). */
function entriesOf(value: unknown): Map<string, Entry> | undefined {
  if (value === undefined || value === null) return new Map();
  if (!Array.isArray(value)) return undefined;
  const entries = new Map<string, Entry>();
  for (const raw of value) {
    if (!isNode(raw)) return undefined;
    const { manager, operation, subresource, apiVersion, fieldsV1 } = raw;
    if (typeof manager !== 'string' || typeof operation !== 'string' || typeof apiVersion !== 'string')
      return undefined;
    if (fieldsV1 !== undefined && !isNode(fieldsV1)) return undefined;
    // Length-prefixed parts: as unambiguous as a JSON array of them, and cheaper (every update of a locked object).
    const sub = typeof subresource === 'string' ? subresource : '';
    const key = `${manager.length}:${manager}${operation.length}:${operation}${sub.length}:${sub}${apiVersion}`;
    entries.set(key, { key, manager, operation, apiVersion, fields: fieldsV1 ?? {} });
  }
  return entries;
}

/** Whether every node of field set `a` is in `b` (walked side by side, no call stack). */
function isSubtree(a: Node, b: Node): boolean {
  // Pairs as consecutive entries: no tuple allocated per node (this runs on every update of a locked object).
  const stack: Node[] = [a, b];
  while (stack.length > 0) {
    const y = stack.pop()!;
    const x = stack.pop()!;
    for (const key in x) {
      if (!Object.hasOwn(x, key)) continue;
      if (!Object.hasOwn(y, key)) return false;
      const cx = x[key];
      if (isNode(cx) && !isEmpty(cx)) {
        const cy = y[key];
        if (!isNode(cy)) return false;
        stack.push(cx, cy);
      }
    }
  }
  return true;
}

/** How many nodes a field set has, up to `limit` (counting stops there). */
function nodeCount(fields: Node, limit: number): number {
  let count = 0;
  const stack: Node[] = [fields];
  while (stack.length > 0 && count <= limit) {
    for (const child of Object.values(stack.pop()!)) {
      count += 1;
      if (isNode(child)) stack.push(child);
    }
  }
  return count;
}

/** JSON equality with numbers compared by value (list keys in `k:` are small). */
function sameValue(a: unknown, b: unknown): boolean {
  if (isJsonNumber(a) && isJsonNumber(b)) return sameNumber(a, b);
  if (Array.isArray(a) || Array.isArray(b))
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (isNode(a) && isNode(b))
    return (
      Object.keys(a).length === Object.keys(b).length &&
      Object.keys(a).every((k) => Object.hasOwn(b, k) && sameValue(a[k], b[k]))
    );
  return a === b;
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The part of `value` a field-set key names: `f:name`, `k:{keys}`, `v:value`, `i:index`. */
function select(value: unknown, key: string): unknown {
  const rest = key.slice(2);
  if (rest.length > MAX_KEY_LENGTH) return undefined;
  if (key.startsWith('f:')) return isNode(value) && Object.hasOwn(value, rest) ? value[rest] : undefined;
  if (!Array.isArray(value)) return undefined;
  if (key.startsWith('i:')) return /^(0|[1-9][0-9]*)$/.test(rest) ? value[Number(rest)] : undefined;
  const wanted = parsed(rest);
  if (key.startsWith('v:')) return value.find((item) => sameValue(item, wanted));
  if (key.startsWith('k:') && isNode(wanted))
    return value.find((item) => isNode(item) && Object.entries(wanted).every(([k, v]) => sameValue(item[k], v)));
  return undefined;
}

/** Whether every field a set names is in the object, but for a few absent empty values. */
function namesOnlyPresentFields(fields: Node, object: KubeObject): boolean {
  let absent = 0;
  const stack: [Node, unknown][] = [[fields, object]];
  while (stack.length > 0) {
    const [node, value] = stack.pop()!;
    for (const [key, child] of Object.entries(node)) {
      if (key === '.') continue;
      const selected = select(value, key);
      if (selected === undefined) {
        // An absent field can only have been an omitted empty value, named like a field.
        if (!key.startsWith('f:') || !FIELD_NAME.test(key.slice(2))) return false;
        absent += 1 + (isNode(child) ? nodeCount(child, MAX_ABSENT_EMPTY) : 0);
        if (absent > MAX_ABSENT_EMPTY) return false;
        continue;
      }
      if (isNode(child)) stack.push([child, selected]);
    }
  }
  return true;
}

export interface ManagedFieldsContext {
  newObject: KubeObject;
  /** The request's field manager, when it names one (options.fieldManager). */
  fieldManager?: string;
}

/** Whether managedFields went from `before` to `after` the way the apiserver's bookkeeping does. */
export function managedFieldsAgree(before: unknown, after: unknown, context: ManagedFieldsContext): boolean {
  const old = entriesOf(before);
  const now = entriesOf(after);
  if (!old || !now) return false;
  let written = 0;
  for (const entry of now.values()) {
    const was = old.get(entry.key);
    if (was && isSubtree(entry.fields, was.fields)) continue;
    if (entry.apiVersion !== context.newObject.apiVersion || !namesOnlyPresentFields(entry.fields, context.newObject))
      return false;
    if (entry.manager === MERGED_UPDATES && entry.operation === 'Update') continue;
    written += 1;
    if (written > 1 || (context.fieldManager !== undefined && entry.manager !== context.fieldManager)) return false;
  }
  return true;
}
