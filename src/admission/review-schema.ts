// The JSON Schema of the AdmissionReview fields Bulwark reads: the envelope, the request,
// userInfo, and object/oldObject metadata. Compiled once by ajv (at start-up, by whoever
// builds the decoder) so that a review with a wrongly typed field is refused with every
// path before any rule runs, instead of failing inside a rule. Unknown fields stay
// allowed: Kubernetes adds fields, and objects carry whatever their kind has.

import { Ajv, type ErrorObject } from 'ajv';
import type { FieldProblem } from '../errors.ts';
import { isRawNumber } from '../json/numbers.ts';
import { ADMISSION_API_VERSION } from './types.ts';

// `jsonObject` is a JSON object as the lossless parser returns it: a number too exact for
// a double is kept as a frozen object (JSON.rawJSON), which ajv's `type: object` accepts.
const object = (properties: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  jsonObject: true,
  properties,
  ...extra,
});
const string = { type: 'string' };
const nonEmpty = { type: 'string', minLength: 1 };
const strings = { type: 'array', items: string };
const stringMap = object({}, { additionalProperties: string });
const maybe = (schema: object) => ({ anyOf: [{ type: 'null' }, schema] });

const groupVersion = (last: 'kind' | 'resource') =>
  object({ group: string, version: nonEmpty, [last]: nonEmpty }, { required: ['group', 'version', last] });

const ownerReference = object({
  apiVersion: string,
  kind: string,
  name: string,
  uid: string,
  controller: { type: 'boolean' },
  blockOwnerDeletion: { type: 'boolean' },
});

const managedFieldsEntry = object({
  manager: string,
  operation: string,
  apiVersion: string,
  time: string,
  fieldsType: string,
  fieldsV1: object(),
  subresource: string,
});

const metadata = object({
  name: string,
  generateName: string,
  namespace: string,
  uid: string,
  resourceVersion: string,
  creationTimestamp: maybe(string),
  deletionTimestamp: maybe(string),
  labels: maybe(stringMap),
  annotations: maybe(stringMap),
  finalizers: maybe(strings),
  ownerReferences: maybe({ type: 'array', items: ownerReference }),
  managedFields: maybe({ type: 'array', items: managedFieldsEntry }),
});

const kubeObject = maybe(object({ apiVersion: string, kind: string, metadata }));

export const ADMISSION_REVIEW_SCHEMA = object(
  {
    apiVersion: { const: ADMISSION_API_VERSION },
    kind: { const: 'AdmissionReview' },
    request: object(
      {
        uid: nonEmpty,
        kind: groupVersion('kind'),
        resource: groupVersion('resource'),
        subResource: string,
        requestKind: groupVersion('kind'),
        requestResource: groupVersion('resource'),
        requestSubResource: string,
        name: string,
        namespace: string,
        operation: { enum: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] },
        userInfo: object({
          username: string,
          uid: string,
          groups: strings,
          extra: object({}, { additionalProperties: strings }),
        }),
        object: kubeObject,
        oldObject: kubeObject,
        dryRun: { type: 'boolean' },
        options: maybe(object()),
      },
      { required: ['uid', 'kind', 'resource', 'operation', 'userInfo'] },
    ),
  },
  { required: ['apiVersion', 'kind', 'request'] },
);

/** `request.object.metadata.labels["app.kubernetes.io/name"]`, `request.userInfo.groups[2]` */
function fieldPath(instancePath: string, extra?: string): string {
  const segments = instancePath === '' ? [] : instancePath.slice(1).split('/');
  if (extra !== undefined) segments.push(extra.replaceAll('~', '~0').replaceAll('/', '~1'));
  return segments
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((out, s) => {
      if (/^\d+$/.test(s)) return `${out}[${s}]`;
      if (/^[A-Za-z_$][\w$]*$/.test(s)) return out ? `${out}.${s}` : s;
      return `${out}[${JSON.stringify(s)}]`;
    }, '');
}

function problemOf(error: ErrorObject): FieldProblem {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { path: fieldPath(error.instancePath, String(params.missingProperty)), message: 'is required' };
    case 'const':
      return { path: fieldPath(error.instancePath), message: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'enum':
      return {
        path: fieldPath(error.instancePath),
        message: `must be one of ${(params.allowedValues as unknown[]).join(', ')}`,
      };
    case 'jsonObject':
      return { path: fieldPath(error.instancePath), message: 'must be object' };
    default:
      return { path: fieldPath(error.instancePath), message: error.message ?? 'is invalid' };
  }
}

/** Every problem of a parsed body, each once; empty means the known fields are well typed. */
export type ReviewSchemaCheck = (body: unknown) => FieldProblem[];

/**
 * Compiles the schema (ajv generates code: a few milliseconds). Done once by the
 * composition root or a command, never per request.
 */
export function compileReviewSchema(): ReviewSchemaCheck {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  ajv.addKeyword({
    keyword: 'jsonObject',
    schemaType: 'boolean',
    validate: (_schema: boolean, data: unknown) => !isRawNumber(data),
    errors: false,
  });
  const validate = ajv.compile(ADMISSION_REVIEW_SCHEMA);
  return (body) => {
    if (validate(body)) return [];
    const problems = (validate.errors ?? []).map(problemOf);
    // anyOf [null, X] reports the null branch and anyOf itself too: keep one line per path, the most specific.
    const seen = new Set<string>();
    return problems.filter((p) => {
      if (p.message === 'must be null' || p.message === 'must match a schema in anyOf') return false;
      const key = `${p.path}\0${p.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  };
}
