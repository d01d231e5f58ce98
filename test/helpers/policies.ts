// Policy objects for tests, in the shape the apiserver returns them.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { FIXTURES_DIR } from './fixtures.ts';

export const VALID_POLICIES_DIR = join(FIXTURES_DIR, 'policies', 'valid');
export const P256_PUBLIC_KEY = readFileSync(join(FIXTURES_DIR, 'keys', 'cosign-p256.pub'), 'utf8');

export function examplePolicies(): Record<string, Record<string, unknown>> {
  const docs = parseAllDocuments(readFileSync(join(VALID_POLICIES_DIR, 'policies.yaml'), 'utf8')).map(
    (d) => d.toJS() as Record<string, unknown>,
  );
  return Object.fromEntries(
    docs.map((d, i) => {
      const meta = d.metadata as Record<string, unknown>;
      meta.uid = `uid-${i}`;
      meta.resourceVersion = '1';
      meta.generation = 1;
      return [String(meta.name), d];
    }),
  );
}

export function immutabilityPolicy(
  name: string,
  spec: Record<string, unknown>,
  meta: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'bulwark.dev/v1alpha1',
    kind: 'ImmutabilityPolicy',
    metadata: { name, uid: `uid-${name}`, resourceVersion: '1', generation: 1, ...meta },
    spec,
  };
}

export function imagePolicy(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'bulwark.dev/v1alpha1',
    kind: 'ImagePolicy',
    metadata: { name, uid: `uid-${name}`, resourceVersion: '1', generation: 1 },
    spec,
  };
}

/** ImagePolicy `shop`: images of registry.local:5000/shop/ signed by the test P-256 key (authority `release`). */
export function shopImagePolicy(spec: Record<string, unknown> = {}): Record<string, unknown> {
  return imagePolicy('shop', {
    images: ['registry.local:5000/shop/**'],
    authorities: [{ name: 'release', key: { publicKey: P256_PUBLIC_KEY } }],
    ...spec,
  });
}
