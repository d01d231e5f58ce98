// Which changes of a CustomResourceDefinition can change how its existing objects read,
// without any of them being written: a schema default or a narrower schema applies on
// read from etcd (defaulting, pruning), a served or storage version decides which
// conversion runs, conversion itself rewrites objects, names and scope decide where they
// are found. Pure; shared by the shell (list locked objects only when it matters) and
// the guard rule.
//
// Everything in spec counts, except what cannot change an object's content: printer
// columns, short names, categories, the singular and list kind names, deprecation
// warnings, documentation inside the schema (description, title, example,
// externalDocs) and the conversion webhook's caBundle (rotated by cert-manager's CA
// injector; the webhook it trusts is named by the service, which counts). Validation-only
// schema changes count too: proving that a schema change leaves every stored object
// reading the same is not attempted. A field a future Kubernetes adds to the spec counts.

import type { AdmissionRequest, KubeObject } from '../../admission/types.ts';

type Json = Record<string, unknown>;

const HARMLESS_NAMES = ['shortNames', 'categories', 'singular', 'listKind'];
const HARMLESS_VERSION_FIELDS = ['additionalPrinterColumns', 'deprecated', 'deprecationWarning'];
const SCHEMA_DOCS = ['description', 'title', 'example', 'externalDocs'];
/** Keywords whose value is a schema, or an array or map of schemas. */
const SUBSCHEMAS = {
  one: ['items', 'additionalProperties', 'not'],
  many: ['allOf', 'anyOf', 'oneOf'],
  map: ['properties', 'patternProperties', 'definitions'],
};

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Equal as JSON values; objects of other classes (lossless numbers, say) compare by their text. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => same(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const plain = (o: object) => [Object.prototype, null].includes(Object.getPrototypeOf(o));
    if (!plain(a) || !plain(b)) return String(a) === String(b);
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => same(a[k], b[k]));
  }
  return false;
}

function withoutDocs(schema: unknown): unknown {
  if (!isObject(schema)) return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (SCHEMA_DOCS.includes(key)) continue;
    if (SUBSCHEMAS.one.includes(key)) out[key] = Array.isArray(value) ? value.map(withoutDocs) : withoutDocs(value);
    else if (SUBSCHEMAS.many.includes(key) && Array.isArray(value)) out[key] = value.map(withoutDocs);
    else if (SUBSCHEMAS.map.includes(key) && isObject(value))
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutDocs(v)]));
    else out[key] = value;
  }
  return out;
}

function without(object: unknown, keys: readonly string[]): Json {
  const out: Json = { ...(isObject(object) ? object : {}) };
  for (const key of keys) delete out[key];
  return out;
}

/** The parts of a CRD's spec that decide how its objects read, versions keyed by name. */
function readingParts(crd: KubeObject | null | undefined): { top: Json; versions: Map<string, Json> } {
  const spec = isObject((crd as Json | null | undefined)?.spec) ? (crd as { spec: Json }).spec : {};
  const top = without(spec, ['versions']);
  if (isObject(top.names)) top.names = without(top.names, HARMLESS_NAMES);
  const webhook = isObject(top.conversion) && isObject(top.conversion.webhook) ? top.conversion.webhook : undefined;
  if (webhook && isObject(webhook.clientConfig)) {
    top.conversion = {
      ...(top.conversion as Json),
      webhook: { ...webhook, clientConfig: without(webhook.clientConfig, ['caBundle']) },
    };
  }
  const versions = new Map<string, Json>();
  for (const v of Array.isArray(spec.versions) ? spec.versions : []) {
    if (!isObject(v)) continue;
    const parts = without(v, [...HARMLESS_VERSION_FIELDS, 'name']);
    if (isObject(parts.schema))
      parts.schema = { ...parts.schema, openAPIV3Schema: withoutDocs(parts.schema.openAPIV3Schema) };
    versions.set(String(v.name), parts);
  }
  return { top, versions };
}

/** Human paths of the changes that can change how the CRD's objects read; empty when none. */
export function crdReadingChanges(
  oldCrd: KubeObject | null | undefined,
  newCrd: KubeObject | null | undefined,
): string[] {
  const before = readingParts(oldCrd);
  const after = readingParts(newCrd);
  const changes: string[] = [];
  for (const key of new Set([...Object.keys(before.top), ...Object.keys(after.top)])) {
    const [a, b] = [before.top[key], after.top[key]];
    if (same(a, b)) continue;
    if (key === 'names' && isObject(a) && isObject(b)) {
      for (const sub of new Set([...Object.keys(a), ...Object.keys(b)]))
        if (!same(a[sub], b[sub])) changes.push(`spec.names.${sub}`);
    } else changes.push(`spec.${key}`);
  }
  for (const name of new Set([...before.versions.keys(), ...after.versions.keys()])) {
    const [a, b] = [before.versions.get(name), after.versions.get(name)];
    if (!a || !b) {
      changes.push(`spec.versions[${name}] (${a ? 'removed' : 'added'})`);
      continue;
    }
    for (const field of new Set([...Object.keys(a), ...Object.keys(b)]))
      if (!same(a[field], b[field])) changes.push(`spec.versions[${name}].${field}`);
  }
  return changes;
}

export function isCrdRequest(request: AdmissionRequest): boolean {
  return (
    request.kind.group === 'apiextensions.k8s.io' &&
    request.kind.kind === 'CustomResourceDefinition' &&
    request.subResource === undefined
  );
}

/** An UPDATE of a CRD (not of its status) that can change how its objects read. */
export function isGuardedCrdUpdate(request: AdmissionRequest): boolean {
  return (
    request.operation === 'UPDATE' &&
    isCrdRequest(request) &&
    crdReadingChanges(request.oldObject, request.object).length > 0
  );
}
