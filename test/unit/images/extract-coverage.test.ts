// The image extractor must cover every field through which a pod makes the kubelet pull
// an image, in every kind that carries a pod spec. Both lists are derived from the Pod
// schema of a real apiserver (captured: test/fixtures/openapi/pod-schemas.json; the e2e
// tier checks the live one): a new image-bearing field or pod-carrying kind in a future
// Kubernetes fails here until the extractor covers it (or NOT_PULLED says why not).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractImages, POD_SPEC_PATHS } from '../../../src/rules/images/extract.ts';
import { FIXTURES_DIR } from '../../helpers/fixtures.ts';
import {
  coveredFields,
  imageBearingFields,
  leaves,
  NOT_PULLED,
  podSpecHolders,
  POD_SPEC,
  type OpenApiDocument,
} from '../../helpers/pod-schema.ts';

const captured = JSON.parse(readFileSync(join(FIXTURES_DIR, 'openapi', 'pod-schemas.json'), 'utf8')) as {
  apiserver: string;
  documents: Record<string, OpenApiDocument>;
};
const core = captured.documents['api/v1']!;

const COVERED = coveredFields();

describe(`the Pod schema of kube-apiserver ${captured.apiserver}`, () => {
  it('is read: the walk reaches the fields of containers and volumes', () => {
    const paths = leaves(core, POD_SPEC).map((l) => l.path);
    expect(paths).toContain('containers[].image');
    expect(paths).toContain('volumes[].image.pullPolicy');
    expect(paths.length).toBeGreaterThan(500);
  });

  it('has no image-bearing PodSpec field the extractor misses', () => {
    const found = imageBearingFields(core);
    expect(found.filter((f) => !COVERED.includes(f) && !(f in NOT_PULLED))).toEqual([]);
    // And every field the extractor reads exists in the schema.
    expect(COVERED.filter((f) => !found.includes(f))).toEqual([]);
  });

  it('has no kind carrying a pod spec that the extractor does not know', () => {
    const holders = podSpecHolders(Object.values(captured.documents));
    const known = new Map(Object.entries(POD_SPEC_PATHS).map(([kind, path]) => [kind, [...path]]));
    expect(Object.fromEntries(holders)).toEqual(Object.fromEntries(known));
  });
});

describe('extraction', () => {
  it('reads image volumes, also in pod templates', () => {
    const spec = {
      containers: [{ name: 'app', image: 'registry.local/app@sha256:1' }],
      volumes: [
        { name: 'config', configMap: { name: 'cfg' } },
        { name: 'models', image: { reference: 'example.invalid/evil:latest', pullPolicy: 'Always' } },
        { name: 'empty', image: {} },
      ],
    };
    expect(extractImages({ spec: { template: { spec } } }, ['spec', 'template', 'spec'])).toEqual([
      { path: 'spec.template.spec.containers[0].image', container: 'app', image: 'registry.local/app@sha256:1' },
      {
        path: 'spec.template.spec.volumes[1].image.reference',
        container: 'volume-models',
        image: 'example.invalid/evil:latest',
      },
      // An image volume without a reference is checked (and refused as an empty image), not skipped.
      { path: 'spec.template.spec.volumes[2].image.reference', container: 'volume-empty', image: '' },
    ]);
  });
});
