// ajv compiling Bulwark's schemas at run time. Processes do not: they load the code
// scripts/generate-validators.ts had ajv write ahead of time (generated/validators.js),
// which saves ajv's code generation (100-300 ms, issue 19) at every start of `serve` and of
// each CLI command. This path serves the generator, and tests that compile other schemas.

import { Ajv, type CodeOptions } from 'ajv';
import { BULWARK_KINDS, crdSchema, type BulwarkKind, type JsonSchema } from './crds.ts';
import { KUBERNETES_KEYWORDS, SCHEMA_FORMATS } from './schema-formats.ts';
import { problemOf, type CrdValidator, type CrdValidators } from './schema-problems.ts';

export function createAjv(code?: CodeOptions): Ajv {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, ...(code ? { code } : {}) });
  for (const [name, format] of Object.entries(SCHEMA_FORMATS)) ajv.addFormat(name, format);
  for (const keyword of KUBERNETES_KEYWORDS) ajv.addKeyword({ keyword });
  return ajv;
}

/**
 * The apiserver prunes unknown fields of structural schemas (or refuses them with
 * fieldValidation=Strict); files in standalone mode get no such pruning, so unknown
 * fields (typos) are reported instead.
 */
export function closedSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closedSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] =
      key === 'properties'
        ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, closedSchema(v)]))
        : closedSchema(value);
  }
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields'])
    out.additionalProperties = false;
  return out;
}

/** The CRDs' openAPIV3Schema, as the charts hold them (the source of truth). */
export function readCrdSchemas(): Record<BulwarkKind, JsonSchema> {
  return Object.fromEntries(
    (Object.keys(BULWARK_KINDS) as BulwarkKind[]).map((kind) => [kind, crdSchema(kind)]),
  ) as Record<BulwarkKind, JsonSchema>;
}

/** Validators compiled now from `schemas`: what the generated code holds, for other schemas. */
export function compileCrdValidators(schemas: Readonly<Record<BulwarkKind, JsonSchema>>): CrdValidators {
  const ajv = createAjv();
  const entries = (Object.keys(BULWARK_KINDS) as BulwarkKind[]).map((kind): [BulwarkKind, CrdValidator] => {
    const validate = ajv.compile(closedSchema(schemas[kind]) as object);
    return [kind, (object) => (validate(object) ? [] : (validate.errors ?? []).map(problemOf))];
  });
  return Object.freeze(Object.fromEntries(entries) as Record<BulwarkKind, CrdValidator>);
}
