// The semantic diff as it was before issue 19's rework (paths built for every container
// walked), kept as the reference the current one must agree with, change for change
// (test/unit/diff/semantic-diff-equivalence.test.ts). Not used by Bulwark itself.

import type { KubeObject } from '../../src/admission/types.ts';
import { isJsonNumber, isRawNumber, sameNumber } from '../../src/json/numbers.ts';
import { isBookkeepingAnnotationChange, SYSTEM_METADATA, type BookkeepingContext } from '../../src/diff/bookkeeping.ts';
import { managedFieldsAgree } from '../../src/diff/managed-fields.ts';
import { encodePointerSegment } from '../../src/diff/pointer.ts';

type ChangeKind = 'added' | 'removed' | 'changed';

interface Change {
  /** JSON Pointer of the changed field. */
  path: string;
  kind: ChangeKind;
  /** Set on the last entry when the list was cut short (see MAX_CHANGED_PATH_CHARS). */
  truncated?: true;
}

interface DiffOptions {
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
const MAX_CHANGED_PATH_CHARS = 4_000_000;

type Container = Record<string, unknown> | unknown[];
/** Where a container sits, for the bookkeeping that applies there. */
type Level = 'root' | 'metadata' | 'annotations' | 'plain';

interface Frame {
  before: Container;
  after: Container;
  path: string;
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

function frameOf(before: Container, after: Container, path: string, level: Level): Frame {
  return {
    before,
    after,
    path,
    level,
    keys: Array.isArray(before) ? [] : Object.keys(before),
    next: 0,
    added: false,
    shared: 0,
  };
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
        if (!managedFieldsAgree(before, after, this.context)) this.add(`${frame.path}/managedFields`, 'changed');
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
    const path = `${frame.path}/${typeof key === 'number' ? key : encodePointerSegment(key)}`;
    if (after === undefined) this.add(path, 'removed');
    else if (before === undefined) this.add(path, 'added');
    else if (isContainer(before) && isContainer(after) && Array.isArray(before) === Array.isArray(after))
      return frameOf(before, after, path, childLevel(level, key));
    else if (!sameLeaf(before, after)) this.add(path, 'changed');
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
export function referenceSemanticChanges(
  oldObject: KubeObject,
  newObject: KubeObject,
  options: DiffOptions = {},
): Change[] {
  const collector = new ChangeCollector({ ...options, oldObject, newObject });
  if (!isContainer(oldObject) || !isContainer(newObject) || Array.isArray(oldObject) !== Array.isArray(newObject)) {
    if (!sameLeaf(oldObject, newObject)) collector.add('', 'changed');
    return collector.changes;
  }
  const stack: Frame[] = [frameOf(oldObject, newObject, '', 'root')];
  while (stack.length > 0) {
    const child = collector.step(stack[stack.length - 1]!);
    if (child) stack.push(child);
    else stack.pop();
  }
  return collector.changes;
}
