// The semantic diff of a locked object: what a person would call a change. Bookkeeping
// the apiserver or clients maintain is skipped while walking (status, resourceVersion,
// ...; annotations by the rules in bookkeeping.ts, managedFields by managed-fields.ts),
// so that reapplying an identical manifest, status writes and managedFields churn are no
// change.
//
// The walk uses an explicit stack: an object nested 100,000 levels deep costs heap, not
// call stack. Numbers compare exactly (raw number leaves by their decimal value), arrays
// index by index, and changes come out in document order as JSON Pointers.

import type { KubeObject } from '../admission/types.ts';
import { isJsonNumber, isRawNumber, sameNumber } from '../json/numbers.ts';
import { isBookkeepingAnnotationChange, SYSTEM_METADATA, type BookkeepingContext } from './bookkeeping.ts';
import { managedFieldsAgree } from './managed-fields.ts';
import { encodePointerSegment } from './pointer.ts';

export type ChangeKind = 'added' | 'removed' | 'changed';

export interface Change {
  /** JSON Pointer of the changed field. */
  path: string;
  kind: ChangeKind;
  /** Set on the last entry when the list was cut short (see MAX_CHANGED_PATH_CHARS). */
  truncated?: true;
}

export interface DiffOptions {
  /** Who makes the change (the request's user, if it names one): some bookkeeping belongs to one controller only. */
  username?: string | undefined;
  /** The request's field manager (options.fieldManager), for managedFields. */
  fieldManager?: string;
}

/**
 * Changed paths are listed up to this many characters in total. An object nested 9,000
 * levels deep with thousands of changed leaves at the bottom would otherwise need
 * gigabytes of path strings; past the budget the list ends with a `truncated` entry,
 * which no allowed path covers (the request is judged as changing more).
 */
export const MAX_CHANGED_PATH_CHARS = 4_000_000;

type Container = Record<string, unknown> | unknown[];
/** Where a container sits, for the bookkeeping that applies there. */
type Level = 'root' | 'metadata' | 'annotations' | 'plain';

interface Frame {
  before: Container;
  after: Container;
  /** The frame of the container holding this one, and this one's key there (undefined at the root). */
  parent: Frame | undefined;
  key: string | number;
  /** The JSON Pointer, built only when a change below is named (most containers have none). */
  path: string | undefined;
  level: Level;
  /** Objects: the keys of `before`, then (second phase) those of `after`. */
  keys: string[];
  next: number;
  /** Objects: whether the keys are those of `after`, looked at for added members. */
  added: boolean;
  /** Objects: how many members of `before` `after` has too. */
  shared: number;
}

const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({});

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null && !isRawNumber(value);
}

/**
 * Absent, null, [] and {} all say "nothing here". The apiserver stores built-in kinds in
 * protobuf, where they are one and the same (a `rules: []` applied is read back as
 * `rules: null`), so reapplying such a manifest is no change; and no data can ride on the
 * difference.
 */
function isNothing(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && !isRawNumber(value) && Object.keys(value).length === 0;
}

function sameLeaf(a: unknown, b: unknown): boolean {
  return a === b || (isJsonNumber(a) && isJsonNumber(b) && sameNumber(a, b));
}

/**
 * A member's value, undefined when absent. Objects built in code may hold undefined
 * (absent too); a key such as `constructor` or `__proto__` must not read the prototype.
 */
function member(object: Record<string, unknown>, key: string): unknown {
  const value = object[key];
  if (value === undefined || (typeof value !== 'function' && key !== '__proto__')) return value;
  return Object.hasOwn(object, key) ? value : undefined;
}

function childLevel(level: Level, key: string | number): Level {
  if (level === 'root' && key === 'metadata') return 'metadata';
  if (level === 'metadata' && key === 'annotations') return 'annotations';
  return 'plain';
}

function frameOf(
  before: Container,
  after: Container,
  parent: Frame | undefined,
  key: string | number,
  level: Level,
): Frame {
  return {
    before,
    after,
    parent,
    key,
    path: parent ? undefined : '',
    level,
    keys: Array.isArray(before) ? [] : Object.keys(before),
    next: 0,
    added: false,
    shared: 0,
  };
}

function isScalar(value: unknown): boolean {
  return value === null || typeof value !== 'object';
}

/**
 * True when two containers hold the same members and every value is the same scalar (then
 * the walk would find no change); false when they differ or hold a container (then the walk decides).
 */
function sameScalars(before: Container, after: Container): boolean {
  if (Array.isArray(before)) {
    const list = after as unknown[];
    if (before.length !== list.length) return false;
    for (let i = 0; i < before.length; i++) if (before[i] !== list[i] || !isScalar(before[i])) return false;
    return true;
  }
  const map = after as Record<string, unknown>;
  let count = 0;
  for (const key in before) {
    if (!Object.hasOwn(before, key)) continue;
    const value = before[key];
    if (!isScalar(value) || value === undefined || !Object.hasOwn(map, key) || map[key] !== value) return false;
    count++;
  }
  for (const key in map) if (Object.hasOwn(map, key) && --count < 0) return false;
  return count === 0;
}

/**
 * The JSON Pointer of `frame`, built from the nearest frame that has one: iteratively (an
 * object 100,000 levels deep), and kept on each frame for the next change beside it.
 */
function pathOf(frame: Frame): string {
  const unnamed: Frame[] = [];
  let cursor: Frame = frame;
  while (cursor.path === undefined) {
    unnamed.push(cursor);
    cursor = cursor.parent!;
  }
  let path = cursor.path;
  for (let i = unnamed.length - 1; i >= 0; i--) {
    const f = unnamed[i]!;
    path = `${path}/${segmentOf(f.key)}`;
    f.path = path;
  }
  return path;
}

function segmentOf(key: string | number): string | number {
  return typeof key === 'number' ? key : encodePointerSegment(key);
}

class ChangeCollector {
  readonly changes: Change[] = [];
  private chars = 0;
  full = false;
  private readonly context: BookkeepingContext;

  constructor(context: BookkeepingContext) {
    this.context = context;
  }

  add(path: string, kind: ChangeKind): void {
    this.chars += path.length;
    if (this.chars > MAX_CHANGED_PATH_CHARS) {
      this.changes.push({ path: '', kind: 'changed', truncated: true });
      this.full = true;
    } else {
      this.changes.push({ path, kind });
    }
  }

  /** Compares one member whose values differ; returns the frame to descend into, if any. */
  compare(frame: Frame, key: string | number, before: unknown, after: unknown): Frame | undefined {
    const { level } = frame;
    if (level !== 'plain') {
      if (level === 'root' && key === 'status') return undefined;
      if (level === 'metadata' && key === 'managedFields') {
        // Rewritten by the apiserver on every write, but also writable by clients (see managed-fields.ts).
        if (!managedFieldsAgree(before, after, this.context)) this.add(`${pathOf(frame)}/managedFields`, 'changed');
        return undefined;
      }
      if (level === 'metadata' && SYSTEM_METADATA.has(key as string)) return undefined;
      if (level === 'annotations' && isBookkeepingAnnotationChange(key as string, after, this.context))
        return undefined;
      // An absent map and an empty one mean the same: a new annotation, or the last label
      // removed, is reported by its key, not as the whole map.
      if (level === 'metadata' && (key === 'annotations' || key === 'labels')) {
        if (before === undefined && isContainer(after) && !Array.isArray(after)) before = EMPTY;
        else if (after === undefined && isContainer(before) && !Array.isArray(before)) after = EMPTY;
      }
    }
    if (typeof key === 'string' && isNothing(before) && isNothing(after)) return undefined;
    if (after === undefined) this.add(`${pathOf(frame)}/${segmentOf(key)}`, 'removed');
    else if (before === undefined) this.add(`${pathOf(frame)}/${segmentOf(key)}`, 'added');
    else if (isContainer(before) && isContainer(after) && Array.isArray(before) === Array.isArray(after)) {
      const child = childLevel(level, key);
      // Most containers of an object hold only scalars that did not change (an env entry, a
      // port): settled in one pass, without a frame. No bookkeeping applies below plain level.
      if (child === 'plain' && sameScalars(before, after)) return undefined;
      return frameOf(before, after, frame, key, child);
    } else if (!sameLeaf(before, after)) this.add(`${pathOf(frame)}/${segmentOf(key)}`, 'changed');
    return undefined;
  }

  /** Advances `frame`; returns a child frame to visit first, or undefined when done. */
  step(frame: Frame): Frame | undefined {
    if (Array.isArray(frame.before)) return this.stepArray(frame, frame.before, frame.after as unknown[]);
    const before = frame.before as Record<string, unknown>;
    const after = frame.after as Record<string, unknown>;
    if (!frame.added) {
      while (frame.next < frame.keys.length) {
        const key = frame.keys[frame.next++]!;
        const was = member(before, key);
        if (was === undefined) continue;
        const is = member(after, key);
        if (is !== undefined) frame.shared++;
        if (was === is) continue;
        const child = this.compare(frame, key, was, is);
        if (child || this.full) return child;
      }
      // Like `before`'s members, all of `after`'s were seen: nothing was added.
      frame.keys = Object.keys(after);
      if (frame.shared === frame.keys.length) return undefined;
      frame.added = true;
      frame.next = 0;
    }
    while (frame.next < frame.keys.length) {
      const key = frame.keys[frame.next++]!;
      const is = member(after, key);
      if (is === undefined || member(before, key) !== undefined) continue;
      const child = this.compare(frame, key, undefined, is);
      if (child || this.full) return child;
    }
    return undefined;
  }

  private stepArray(frame: Frame, before: unknown[], after: unknown[]): Frame | undefined {
    const length = Math.max(before.length, after.length);
    while (frame.next < length) {
      const i = frame.next++;
      const was = before[i];
      const is = after[i];
      if (was === is) continue;
      const child = this.compare(frame, i, was, is);
      if (child || this.full) return child;
    }
    return undefined;
  }
}

/** Every change between two versions of an object, bookkeeping excluded. */
export function semanticChanges(oldObject: KubeObject, newObject: KubeObject, options: DiffOptions = {}): Change[] {
  const collector = new ChangeCollector({ ...options, oldObject, newObject });
  if (!isContainer(oldObject) || !isContainer(newObject) || Array.isArray(oldObject) !== Array.isArray(newObject)) {
    if (!sameLeaf(oldObject, newObject)) collector.add('', 'changed');
    return collector.changes;
  }
  const stack: Frame[] = [frameOf(oldObject, newObject, undefined, '', 'root')];
  while (stack.length > 0) {
    const child = collector.step(stack[stack.length - 1]!);
    if (child) stack.push(child);
    else stack.pop();
  }
  return collector.changes;
}
