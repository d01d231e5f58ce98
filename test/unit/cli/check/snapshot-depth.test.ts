// A locked object nested thousands of levels deep (the apiserver stores it; see
// test/e2e/immutability-exact.test.ts) must not crash `bulwark snapshot`: its content is
// dropped from the file, and `check` then reports any manifest for it as a change, so a
// lock is never missed.

import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  CONTENT_OMITTED_ANNOTATION,
  forSnapshotFile,
  jsonDepth,
  MAX_SNAPSHOT_DEPTH,
} from '../../../../src/cli/check/snapshot-depth.ts';
import { yamlDocuments } from '../../../../src/cli/read-yaml.ts';
import { main } from '../../../../src/cli/main.ts';
import { run } from '../../../helpers/run-cli.ts';

function nested(levels: number): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

const deepConfigMap = (levels: number) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'deep', namespace: 'team', labels: { 'bulwark.dev/immutable': 'true' } },
  data: { x: '1' },
  deep: nested(levels),
});

describe('jsonDepth', () => {
  it('counts containers without recursing (9,000 levels)', () => {
    expect(jsonDepth('x')).toBe(0);
    expect(jsonDepth({ a: [1, { b: 2 }] })).toBe(3);
    expect(jsonDepth(nested(9000))).toBe(9000);
  });
});

describe('forSnapshotFile', () => {
  it('keeps an ordinary object whole', () => {
    const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } };
    expect(forSnapshotFile(object)).toEqual({ object, omitted: false });
  });

  it('keeps only the identity of an object too deep for YAML, saying why; the file round-trips', () => {
    const { object, omitted } = forSnapshotFile(deepConfigMap(9000));
    expect(omitted).toBe(true);
    expect(object).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'deep',
        namespace: 'team',
        labels: { 'bulwark.dev/immutable': 'true' },
        annotations: { [CONTENT_OMITTED_ANNOTATION]: `nested deeper than ${MAX_SNAPSHOT_DEPTH} levels` },
      },
    });
    expect(yamlDocuments(stringify(object), 'snapshot')).toEqual([object]);
  });

  it('an object at the limit still round-trips through YAML whole', () => {
    const object = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
      spec: nested(MAX_SNAPSHOT_DEPTH - 2),
    };
    expect(forSnapshotFile(object).omitted).toBe(false);
    expect(yamlDocuments(stringify(object), 'snapshot')).toEqual([object]);
  });
});

describe('check against a snapshot that dropped an object', () => {
  it('reports a reapply of the same manifest as a change of the locked object (exit 1), never as allowed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-depth-'));
    const snapshot = {
      apiVersion: 'cli.bulwark.dev/v1alpha1',
      kind: 'ClusterSnapshot',
      takenAt: '2026-11-29T10:00:00Z',
      lockLabel: { key: 'bulwark.dev/immutable', value: 'true' },
      policies: [],
      unlocks: [],
      namespaces: { team: {} },
      objects: [forSnapshotFile(deepConfigMap(200)).object],
    };
    await writeFile(join(dir, 'snapshot.yaml'), stringify(snapshot));
    const manifest = { apiVersion: 'v1', kind: 'ConfigMap', metadata: deepConfigMap(0).metadata, data: { x: '1' } };
    await writeFile(join(dir, 'cm.yaml'), stringify(manifest));
    const r = await run(main, ['check', '-f', join(dir, 'cm.yaml'), '--snapshot', join(dir, 'snapshot.yaml')]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('DENY ConfigMap team/deep');
    expect(parse(await readFile(join(dir, 'snapshot.yaml'), 'utf8')).objects).toHaveLength(1);
  });
});
