// Generates src/policy/generated/types.ts from the CRD YAML (the source of truth), so
// the TypeScript types cannot drift from the schema the apiserver enforces.
//   npm run generate            write the file
//   node scripts/generate-policy-types.ts --check   exit 1 if the file is stale

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from 'json-schema-to-typescript';
import { BULWARK_KINDS, crdSchema, type BulwarkKind } from '../src/policy/crds.ts';
import { LOCAL_UNLOCK_CRD_FILE, renderLocalUnlockCrd } from './local-unlock-crd.ts';

export const GENERATED_FILE = join(import.meta.dirname, '..', 'src', 'policy', 'generated', 'types.ts');

/** Kubernetes extensions are not JSON Schema; drop them and close every object. */
function forTypes(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(forTypes);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-kubernetes-') || key === 'default' || key === 'description') continue;
    out[key] =
      key === 'properties'
        ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, forTypes(v)]))
        : forTypes(value);
  }
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined)
    out.additionalProperties = false;
  return out;
}

export async function generate(): Promise<string> {
  const parts = [
    '// Generated from charts/bulwark/files/crds by scripts/generate-policy-types.ts. Do not edit.\n' +
      '/* eslint-disable */\n',
  ];
  for (const kind of Object.keys(BULWARK_KINDS) as BulwarkKind[]) {
    const schema = forTypes(crdSchema(kind)) as Record<string, unknown>;
    const properties = schema.properties as Record<string, unknown>;
    properties.metadata = { tsType: 'import("../../admission/types.ts").ObjectMeta' };
    parts.push(
      await compile(schema as never, kind, {
        bannerComment: '',
        additionalProperties: false,
        unknownAny: true,
        strictIndexSignatures: true,
        ignoreMinAndMaxItems: true,
        format: true,
      }),
    );
  }
  return parts.join('\n');
}

if (import.meta.main) {
  const text = await generate();
  const localCrd = renderLocalUnlockCrd();
  if (process.argv.includes('--check')) {
    if (readFileSync(LOCAL_UNLOCK_CRD_FILE, 'utf8') !== localCrd) {
      console.error(`${LOCAL_UNLOCK_CRD_FILE} is stale: run npm run generate`);
      process.exit(1);
    }
    const current = readFileSync(GENERATED_FILE, 'utf8');
    if (current !== text) {
      console.error(`${GENERATED_FILE} is stale: run npm run generate`);
      process.exit(1);
    }
  } else {
    writeFileSync(GENERATED_FILE, text);
    writeFileSync(LOCAL_UNLOCK_CRD_FILE, localCrd);
    console.log(`wrote ${GENERATED_FILE} and ${LOCAL_UNLOCK_CRD_FILE}`);
  }
}
