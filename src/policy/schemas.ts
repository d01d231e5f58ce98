// ajv validators compiled from the CRDs' openAPIV3Schema, once at start-up. They apply
// the schema's defaults, as the apiserver does, so files loaded in standalone mode end
// up in the same shape as objects read from the cluster.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { pointerSegments } from '../diff/pointer.ts';
import type { FieldProblem } from '../errors.ts';
import { BULWARK_KINDS, crdSchema, type BulwarkKind, type JsonSchema } from './crds.ts';

export function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
  addFormats.default(ajv, ['date-time']);
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  // Kubernetes' extensions; their meaning (CEL rules, list types) is checked in compile.
  for (const keyword of [
    'x-kubernetes-validations',
    'x-kubernetes-list-type',
    'x-kubernetes-list-map-keys',
    'x-kubernetes-preserve-unknown-fields',
    'x-kubernetes-int-or-string',
    'x-kubernetes-embedded-resource',
  ]) {
    ajv.addKeyword({ keyword });
  }
  return ajv;
}

/**
 * The apiserver prunes unknown fields of structural schemas (or refuses them with
 * fieldValidation=Strict); files in standalone mode get no such pruning, so unknown
 * fields (typos) are reported instead.
 */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] =
      key === 'properties'
        ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, closed(v)]))
        : closed(value);
  }
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields'])
    out.additionalProperties = false;
  return out;
}

/** `/spec/match/resources/0/kinds` -> `spec.match.resources[0].kinds` */
function fieldPath(instancePath: string, extra?: string): string {
  const segments = pointerSegments(instancePath);
  if (extra) segments.push(extra);
  return segments.reduce((out, s) => (/^\d+$/.test(s) ? `${out}[${s}]` : out ? `${out}.${s}` : s), '');
}

export function problemOf(error: ErrorObject): FieldProblem {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties') {
    return { path: fieldPath(error.instancePath, String(params.additionalProperty)), message: 'unknown field' };
  }
  if (error.keyword === 'required') {
    return { path: fieldPath(error.instancePath, String(params.missingProperty)), message: 'is required' };
  }
  if (error.keyword === 'enum') {
    return {
      path: fieldPath(error.instancePath),
      message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
    };
  }
  return { path: fieldPath(error.instancePath), message: error.message ?? 'is invalid' };
}

/**
 * Validates one object against its CRD's schema and fills in the schema's defaults (mutates it); returns every problem.
 */
export type CrdValidator = (object: unknown) => FieldProblem[];

export type CrdValidators = Readonly<Record<BulwarkKind, CrdValidator>>;

/**
 * Compiles a validator for each of Bulwark's CRDs from their openAPIV3Schema (read from
 * charts/bulwark/files/crds unless given). Costly (ajv generates code): the composition root
 * calls it once at start-up and hands the result to whatever compiles policies.
 */
export function createCrdValidators(
  schemas: Readonly<Record<BulwarkKind, JsonSchema>> = readCrdSchemas(),
): CrdValidators {
  const ajv = createAjv();
  const entries = (Object.keys(BULWARK_KINDS) as BulwarkKind[]).map((kind): [BulwarkKind, CrdValidator] => {
    const validate: ValidateFunction = ajv.compile(closed(schemas[kind]) as object);
    return [kind, (object) => (validate(object) ? [] : (validate.errors ?? []).map(problemOf))];
  });
  return Object.freeze(Object.fromEntries(entries) as Record<BulwarkKind, CrdValidator>);
}

function readCrdSchemas(): Record<BulwarkKind, JsonSchema> {
  return Object.fromEntries(
    (Object.keys(BULWARK_KINDS) as BulwarkKind[]).map((kind) => [kind, crdSchema(kind)]),
  ) as Record<BulwarkKind, JsonSchema>;
}
