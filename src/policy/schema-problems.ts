// How a schema's findings read: each ajv error as a field path and a message, for people.
// Shared by the validators ajv compiled ahead of time (schemas.ts) and at run time
// (schema-compile.ts).

import type { ErrorObject } from 'ajv';
import { pointerSegments } from '../diff/pointer.ts';
import type { FieldProblem } from '../errors.ts';
import type { BulwarkKind } from './crds.ts';

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
