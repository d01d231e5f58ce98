// The CRD YAML is the source of truth: generated types must match it, and the CRDs
// must have what `kubectl get` users rely on.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { POLICY_KINDS, readCrd, type PolicyKind } from '../../../src/policy/crds.ts';
import { GENERATED_FILE, generate } from '../../../scripts/generate-policy-types.ts';
import { VALIDATORS_FILE, generateValidators } from '../../../scripts/generate-validators.ts';
import { LOCAL_UNLOCK_CRD_FILE, renderLocalUnlockCrd } from '../../../scripts/local-unlock-crd.ts';
import { parse as parseYaml } from 'yaml';

describe('policy CRDs', () => {
  it('src/policy/generated/types.ts is generated from the CRDs (run npm run generate)', async () => {
    expect(readFileSync(GENERATED_FILE, 'utf8')).toBe(await generate());
  });

  it('src/policy/generated/validators.js is the code ajv generates for them (npm run generate)', () => {
    expect(readFileSync(VALIDATORS_FILE, 'utf8')).toBe(generateValidators());
  });

  it('the LocalUnlockRequest CRD is generated from the UnlockRequest CRD: same schema, namespaced', () => {
    const text = readFileSync(LOCAL_UNLOCK_CRD_FILE, 'utf8');
    expect(text).toBe(renderLocalUnlockCrd());
    const local = parseYaml(text);
    const cluster = readCrd('UnlockRequest') as unknown as { spec: Record<string, any> };
    expect(local.spec.scope).toBe('Namespaced');
    expect(local.spec.names).toMatchObject({ kind: 'LocalUnlockRequest', shortNames: ['lur', 'localunlock'] });
    expect(local.spec.versions[0].schema).toEqual(cluster.spec.versions[0].schema);
    expect(local.spec.versions[0].subresources).toEqual({ status: {} });
  });

  it.each(Object.keys(POLICY_KINDS) as PolicyKind[])(
    '%s is cluster-scoped with short names, printer columns and a status subresource',
    (kind) => {
      const crd = readCrd(kind) as unknown as { spec: Record<string, any> };
      expect(crd.spec.scope).toBe('Cluster');
      expect(crd.spec.group).toBe('bulwark.dev');
      expect(crd.spec.names.shortNames.length).toBeGreaterThan(0);
      const [version] = crd.spec.versions;
      expect(version.name).toBe('v1alpha1');
      expect(version.subresources).toEqual({ status: {} });
      expect(version.additionalPrinterColumns.map((c: { name: string }) => c.name)).toEqual(
        expect.arrayContaining(['Enforcement', 'Ready', 'Age']),
      );
    },
  );
});
