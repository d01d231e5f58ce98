// The JSON Schema of a `bulwark test` file (documented in README.md, "Testing policies
// offline"). Checked with ajv before anything runs, so bad input names its file and the
// path of the offending field, and exits 2.

import type { Operation } from '../../admission/types.ts';
import type { KubeObject } from '../../admission/types.ts';

const object = { type: 'object' } as const;
const labels = { type: 'object', additionalProperties: { type: 'string' } } as const;
/** A manifest inline, or the path of a YAML file (relative to the test file). */
const manifest = { anyOf: [{ type: 'string', minLength: 1 }, object] } as const;

export const SUITE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'cases'],
  properties: {
    apiVersion: { const: 'cli.bulwark.dev/v1alpha1' },
    kind: { const: 'PolicyTest' },
    name: { type: 'string' },
    policies: { type: 'array', items: { type: 'string', minLength: 1 } },
    lockLabel: {
      type: 'object',
      additionalProperties: false,
      required: ['key', 'value'],
      properties: { key: { type: 'string' }, value: { type: 'string' } },
    },
    namespaces: { type: 'object', additionalProperties: labels },
    unlocks: { type: 'array', items: { type: 'string', minLength: 1 } },
    now: { type: 'string', format: 'date-time' },
    cases: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'expect'],
        properties: {
          name: { type: 'string', minLength: 1 },
          operation: { enum: ['CREATE', 'UPDATE', 'DELETE'] },
          subResource: { type: 'string' },
          resource: { type: 'string' },
          old: manifest,
          new: manifest,
          parent: manifest,
          replicas: { type: 'integer', minimum: 0 },
          user: { type: 'string' },
          groups: { type: 'array', items: { type: 'string' } },
          namespaceLabels: labels,
          expect: {
            type: 'object',
            additionalProperties: false,
            required: ['allowed'],
            properties: {
              allowed: { type: 'boolean' },
              reason: { type: 'string' },
              warning: { type: 'string' },
            },
          },
        },
      },
    },
  },
} as const;

export interface SuiteFile {
  apiVersion: string;
  kind: string;
  name?: string;
  policies?: string[];
  lockLabel?: { key: string; value: string };
  namespaces?: Record<string, Record<string, string>>;
  unlocks?: string[];
  now?: string;
  cases: CaseSpec[];
}

export interface CaseSpec {
  name: string;
  operation?: Exclude<Operation, 'CONNECT'>;
  subResource?: string;
  resource?: string;
  old?: string | KubeObject;
  new?: string | KubeObject;
  parent?: string | KubeObject;
  replicas?: number;
  user?: string;
  groups?: string[];
  namespaceLabels?: Record<string, string>;
  expect: { allowed: boolean; reason?: string; warning?: string };
}
