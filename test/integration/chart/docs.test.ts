// The chart's values are documented three times over: a comment in values.yaml, a row in
// README.md's configuration table, and a property in values.schema.json. None may lag.
// manifests/bulwark.yaml is the chart rendered; it may not lag either.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMap, parseDocument, type YAMLMap } from 'yaml';
import { MANIFEST_FILE, renderManifests } from '../../../scripts/render-manifests.ts';
import { CHART_DIR, helm } from './helm.ts';

const KUBERNETES_FIELDS = new Set(
  [
    'requests',
    'limits',
    'cpu',
    'memory',
    'runAsNonRoot',
    'runAsUser',
    'runAsGroup',
    'fsGroup',
    'seccompProfile',
  ].concat(['type', 'readOnlyRootFilesystem', 'allowPrivilegeEscalation', 'privileged', 'capabilities', 'drop']),
);

const valuesText = readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8');
const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as SchemaNode;

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | object;
}

/** Values that hold a Kubernetes object of its own kind, documented as one key. */
const KUBERNETES_OBJECTS = new Set([
  'deployment.resources',
  'deployment.podSecurityContext',
  'deployment.containerSecurityContext',
]);

/** Dotted paths of the values a user sets; maps of free-form content (resources, annotations) count as one. */
function leafKeys(map: YAMLMap, prefix = ''): string[] {
  return map.items.flatMap((pair) => {
    const key = `${prefix}${String((pair.key as { value: unknown }).value)}`;
    const value = pair.value;
    if (isMap(value) && value.items.length > 0 && !KUBERNETES_OBJECTS.has(key)) return leafKeys(value, `${key}.`);
    return [key];
  });
}

const keys = leafKeys(parseDocument(valuesText).contents as YAMLMap);

describe('values documentation', () => {
  it('has a comment line above every key in values.yaml', () => {
    const lines = valuesText.split('\n');
    const uncommented = lines
      .map((line, i) => ({ line, previous: lines[i - 1] ?? '' }))
      .filter(({ line, previous }) => /^\s*[A-Za-z][\w]*:/.test(line) && !/^\s*#/.test(previous))
      .map(({ line }) => line.trim())
      // The children of deployment.resources and the securityContexts are Kubernetes' own fields.
      .filter((line) => !KUBERNETES_FIELDS.has(line.split(':')[0] ?? ''));
    expect(uncommented).toEqual([]);
  });

  it('lists every key in the README configuration table', () => {
    const table = readme.slice(readme.indexOf('## Configuration'));
    const missing = keys.filter((key) => !table.includes(`| \`${key}\` |`));
    expect(keys.length).toBeGreaterThan(50);
    expect(missing).toEqual([]);
  });

  it('declares every key in values.schema.json, and nothing values.yaml lacks', () => {
    const declared = (node: SchemaNode, path: string[]): SchemaNode | undefined =>
      path.reduce<SchemaNode | undefined>((n, part) => n?.properties?.[part], node);
    expect(keys.filter((key) => !declared(schema, key.split('.')))).toEqual([]);
    const topLevel = Object.keys(schema.properties ?? {}).sort();
    expect(topLevel).toEqual([...new Set(keys.map((k) => k.split('.')[0]))].sort());
    expect(schema.additionalProperties).toBe(false);
  });
});

describe('manifests/bulwark.yaml', () => {
  it('is the chart rendered (run `npm run render-manifests` after changing the chart or its CRDs)', async () => {
    const expected = await renderManifests(await helm());
    expect(
      readFileSync(MANIFEST_FILE, 'utf8') === expected,
      'manifests/bulwark.yaml differs from the chart: npm run render-manifests',
    ).toBe(true);
  });
});
