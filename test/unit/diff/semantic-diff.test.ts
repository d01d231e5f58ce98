// The semantic diff itself: which differences are changes, how they are named, and that
// it needs no call stack however deep the object and stays bounded however many changes.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/admission/types.ts';
import { parseJsonLossless } from '../../../src/json/parse.ts';
import { MAX_CHANGED_PATH_CHARS, semanticChanges, type Change } from '../../../src/diff/semantic-diff.ts';

const obj = (text: string) => parseJsonLossless(text) as KubeObject;
const changes = (before: string, after: string): string[] =>
  semanticChanges(obj(before), obj(after)).map((c: Change) => `${c.path} ${c.kind}`);

describe('semanticChanges', () => {
  it('names added, removed and changed fields as JSON Pointers, in document order', () => {
    expect(
      changes(
        '{"data":{"a":"1","b":"2","c/d":"3"},"spec":{"x":{"y":1}}}',
        '{"data":{"a":"9","c/d":"3","e~f":"4"},"spec":{"x":{"y":2}},"extra":true}',
      ),
    ).toEqual(['/data/a changed', '/data/b removed', '/data/e~0f added', '/spec/x/y changed', '/extra added']);
  });

  it('compares arrays index by index', () => {
    expect(changes('{"l":[1,2,3]}', '{"l":[1,5]}')).toEqual(['/l/1 changed', '/l/2 removed']);
    expect(changes('{"l":[1]}', '{"l":[1,{"a":1}]}')).toEqual(['/l/1 added']);
    expect(changes('{"l":[{"name":"a","v":1}]}', '{"l":[{"name":"a","v":2}]}')).toEqual(['/l/0/v changed']);
  });

  it(
    'treats absent, null, [] and {} fields as the same nothing ' +
      '(the apiserver stores them alike), but not list elements',
    () => {
      // A locked ClusterRole applied with `rules: []` is read back with `rules: null`: reapplying it is no change.
      expect(changes('{"rules":null,"a":{},"b":[]}', '{"rules":[],"a":null,"c":{}}')).toEqual([]);
      expect(changes('{"rules":null}', '{"rules":[{"verbs":["get"]}]}')).toEqual(['/rules changed']);
      expect(changes('{"a":{}}', '{"a":{"b":1}}')).toEqual(['/a/b added']);
      expect(changes('{"l":[1,null]}', '{"l":[1]}')).toEqual(['/l/1 removed']);
    },
  );

  it('reports a change of type (object to array, object to value) at the field', () => {
    expect(changes('{"a":{"b":1}}', '{"a":[1]}')).toEqual(['/a changed']);
    expect(changes('{"a":{"b":1}}', '{"a":null}')).toEqual(['/a changed']);
    expect(changes('{"a":"1"}', '{"a":1}')).toEqual(['/a changed']);
  });

  it('skips status and the system metadata, wherever they differ', () => {
    expect(
      changes(
        '{"apiVersion":"v1","metadata":{"name":"x","resourceVersion":"1","generation":1,"managedFields":[],"' +
          'selfLink":"a"},"status":{"r":1}}',
        '{"apiVersion":"v1","metadata":{"name":"x","resourceVersion":"2","generation":2,"' +
          'managedFields":[{"manager":"m","operation":"Update","apiVersion":"v1","' +
          'fieldsV1":{"f:metadata":{"f:name":{}}}}]},"status":{"r":2,"new":true}}',
      ),
    ).toEqual([]);
  });

  it('names annotations and labels by key whether or not the map existed before', () => {
    expect(changes('{"metadata":{"name":"x"}}', '{"metadata":{"name":"x","annotations":{"owner":"m"}}}')).toEqual([
      '/metadata/annotations/owner added',
    ]);
    expect(changes('{"metadata":{"labels":{"bulwark.dev/immutable":"true"}}}', '{"metadata":{}}')).toEqual([
      '/metadata/labels/bulwark.dev~1immutable removed',
    ]);
  });

  it('compares numbers exactly, by value', () => {
    expect(changes('{"n":9007199254740993}', '{"n":9007199254740992}')).toEqual(['/n changed']);
    expect(changes('{"n":0.10000000000000001}', '{"n":0.1}')).toEqual(['/n changed']);
    expect(changes('{"n":1e400}', '{"n":1e401}')).toEqual(['/n changed']);
    expect(changes('{"n":9007199254740993,"f":1.50}', '{"n":9007199254740993,"f":1.5}')).toEqual([]);
  });

  it('treats members whose value is undefined (objects built in code) as absent', () => {
    expect(
      semanticChanges({ metadata: { name: 'x' } }, {
        metadata: { name: 'x', labels: undefined },
      } as unknown as KubeObject),
    ).toEqual([]);
    expect(semanticChanges({ a: undefined } as KubeObject, { a: 1 } as KubeObject)).toEqual([
      { path: '/a', kind: 'added' },
    ]);
  });

  it('compares keys that are Object.prototype names as keys', () => {
    expect(changes('{"__proto__":{"a":1},"constructor":1}', '{"__proto__":{"a":2},"toString":1}')).toEqual([
      '/__proto__/a changed',
      '/constructor removed',
      '/toString added',
    ]);
  });

  it('walks 100,000 levels of nesting without the call stack', () => {
    const nested = (leaf: string) => `{"spec":${'{"a":'.repeat(100_000)}${leaf}${'}'.repeat(100_000)}}`;
    expect(semanticChanges(obj(nested('"x"')), obj(nested('"x"')))).toEqual([]);
    const [change] = semanticChanges(obj(nested('"x"')), obj(nested('"y"')));
    expect(change?.kind).toBe('changed');
    expect(change?.path).toBe(`/spec${'/a'.repeat(100_000)}`);
  });

  it('stops listing past the path budget, ending with a truncation marker', () => {
    // 2,000 changed leaves, each 2,000 levels deep: 8 million path characters.
    const deep = (value: number) =>
      `{"spec":${'{"a":'.repeat(2000)}[${Array(2000).fill(value).join(',')}]${'}'.repeat(2000)}}`;
    const list = semanticChanges(obj(deep(1)), obj(deep(2)));
    const last = list.at(-1);
    expect(last).toMatchObject({ path: '', truncated: true });
    expect(list.length).toBeLessThan(2000);
    expect(list.slice(0, -1).reduce((n, c) => n + c.path.length, 0)).toBeLessThanOrEqual(MAX_CHANGED_PATH_CHARS);
  });
});
