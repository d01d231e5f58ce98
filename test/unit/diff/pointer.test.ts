import { describe, expect, it } from 'vitest';
import { humanPath, isUnderPointer, isValidPointer, pointerOf, pointerSegments } from '../../../src/diff/pointer.ts';

describe('JSON pointer helpers', () => {
  it.each([
    ['/data/color', 'data.color'],
    ['/spec/template/spec/containers/0/image', 'spec.template.spec.containers[0].image'],
    ['/metadata/labels/bulwark.dev~1immutable', 'metadata.labels["bulwark.dev/immutable"]'],
    ['/metadata/annotations/a~0b', 'metadata.annotations["a~b"]'],
    ['/data/with space', 'data["with space"]'],
    ['', '(whole object)'],
  ])('renders %s as %s', (pointer, human) => {
    expect(humanPath(pointer)).toBe(human);
  });

  it('round-trips segments with / and ~', () => {
    const segments = ['metadata', 'labels', 'a/b~c'];
    expect(pointerSegments(pointerOf(segments))).toEqual(segments);
  });

  it('matches a pointer and what lies beneath it, not siblings sharing a prefix', () => {
    expect(isUnderPointer('/spec/replicas', '/spec/replicas')).toBe(true);
    expect(isUnderPointer('/spec/replicas/x', '/spec/replicas')).toBe(true);
    expect(isUnderPointer('/spec/replicasMax', '/spec/replicas')).toBe(false);
  });

  it('validates pointers', () => {
    expect(isValidPointer('/a/b~1c')).toBe(true);
    expect(isValidPointer('')).toBe(true);
    expect(isValidPointer('a/b')).toBe(false);
    expect(isValidPointer('/a~2')).toBe(false);
  });
});
