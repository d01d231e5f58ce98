// Reading the apiserver's OpenAPI v3 documents (/openapi/v3/<group-version>) for the
// image extractor's coverage tests: which PodSpec fields make the kubelet pull an
// image, and which kinds carry a PodSpec. The unit tier reads a captured copy
// (test/fixtures/openapi/pod-schemas.json, `npm run capture-fixtures`), the e2e tier
// the live apiserver.
//
// The heuristic for "image-bearing": a string field without an enum (so not a pull
// policy) whose name contains image, reference or artifact, or whose description speaks
// of an image or artifact name or reference, or of behaving like
// `pod.spec.containers[*].image`. It errs towards listing too much: a field it finds
// that pulls nothing goes into NOT_PULLED with the reason, so that every field it
// finds is decided by a person once.

import { IMAGE_FIELDS } from '../../src/rules/images/extract.ts';

export interface Schema {
  type?: string;
  description?: string;
  enum?: unknown[];
  $ref?: string;
  allOf?: Schema[];
  items?: Schema;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
}

export interface OpenApiDocument {
  components?: { schemas?: Record<string, Schema> };
}

export const POD_SPEC = 'io.k8s.api.core.v1.PodSpec';

/** Fields the heuristic finds that the kubelet does not pull from a registry. */
export const NOT_PULLED: Record<string, string> = {
  'volumes[].rbd.image': 'a Ceph RBD block image, mapped by the node from the Ceph cluster, not an OCI image',
};

/** The PodSpec fields the extractor reads, in the walk's notation. */
export function coveredFields(): string[] {
  return IMAGE_FIELDS.map((f) => `${f.list}[].${f.field.join('.')}`).sort();
}

function refName(schema: Schema): string | undefined {
  if (schema.$ref) return schema.$ref.slice(schema.$ref.lastIndexOf('/') + 1);
  if (schema.allOf?.length === 1) return refName(schema.allOf[0]!);
  return undefined;
}

export interface Leaf {
  /** `containers[].image`, `volumes[].image.reference`, `nodeSelector{}` */
  path: string;
  name: string;
  schema: Schema;
}

/** Every non-object field reachable from the named schema, with its path (each definition entered once per path). */
export function leaves(doc: OpenApiDocument, root: string): Leaf[] {
  const schemas = doc.components?.schemas ?? {};
  const found: Leaf[] = [];
  const visit = (schema: Schema, path: string, name: string, seen: ReadonlySet<string>): void => {
    const ref = refName(schema);
    if (ref !== undefined) {
      if (seen.has(ref) || !schemas[ref]) return;
      visit(schemas[ref], path, name, new Set([...seen, ref]));
      return;
    }
    if (schema.type === 'array' && schema.items) {
      visit(schema.items, `${path}[]`, name, seen);
      return;
    }
    if (schema.properties) {
      for (const [key, value] of Object.entries(schema.properties))
        visit(value, path === '' ? key : `${path}.${key}`, key, seen);
      return;
    }
    if (typeof schema.additionalProperties === 'object') {
      visit(schema.additionalProperties, `${path}{}`, name, seen);
      return;
    }
    found.push({ path, name, schema });
  };
  if (schemas[root]) visit(schemas[root], '', '', new Set([root]));
  return found;
}

export function looksImageBearing(leaf: Leaf): boolean {
  if (leaf.schema.type !== 'string' || leaf.schema.enum) return false;
  return (
    /image|reference|artifact/i.test(leaf.name) ||
    /\b(image|artifact) (name|reference)\b|containers\[\*\]\.image/i.test(leaf.schema.description ?? '')
  );
}

/** PodSpec fields that look image-bearing, as paths relative to the PodSpec. */
export function imageBearingFields(doc: OpenApiDocument): string[] {
  return leaves(doc, POD_SPEC)
    .filter(looksImageBearing)
    .map((l) => l.path)
    .sort();
}

/** Kinds (`group/Kind`) whose schema reaches a PodSpec, with the property path to it. */
export function podSpecHolders(docs: readonly OpenApiDocument[]): Map<string, string[]> {
  const holders = new Map<string, string[]>();
  for (const doc of docs) {
    const schemas = doc.components?.schemas ?? {};
    const pathTo = (name: string, seen: ReadonlySet<string>): string[] | undefined => {
      if (name === POD_SPEC) return [];
      for (const [key, value] of Object.entries(schemas[name]?.properties ?? {})) {
        const ref = refName(value.type === 'array' && value.items ? value.items : value);
        if (ref === undefined || seen.has(ref)) continue;
        const rest = pathTo(ref, new Set([...seen, ref]));
        if (rest) return [key, ...rest];
      }
      return undefined;
    };
    for (const [name, schema] of Object.entries(schemas)) {
      const gvk = schema['x-kubernetes-group-version-kind']?.[0];
      if (!gvk || name.endsWith('List')) continue;
      const path = pathTo(name, new Set([name]));
      if (path) holders.set(`${gvk.group}/${gvk.kind}`, path);
    }
  }
  return holders;
}

/**
 * A document cut down to what the tests read: the definitions reachable from kinds
 * that carry a PodSpec, with descriptions kept only on string fields (the heuristic
 * reads those). Without `podSpecFields` the PodSpec itself is a stub (the fields are
 * read from the core group's document). Keeps the captured fixture small.
 */
export function trimForPodSpec(doc: OpenApiDocument, options: { podSpecFields: boolean }): OpenApiDocument {
  const schemas = doc.components?.schemas ?? {};
  const holders = [...podSpecHolders([doc]).keys()];
  const roots = Object.entries(schemas)
    .filter(
      ([name, s]) =>
        !name.endsWith('List') &&
        s['x-kubernetes-group-version-kind']?.some((g) => holders.includes(`${g.group}/${g.kind}`)),
    )
    .map(([name]) => name);
  const keep = new Set<string>();
  const strip = (schema: Schema): Schema => {
    const ref = refName(schema);
    if (ref !== undefined && !keep.has(ref) && schemas[ref]) {
      keep.add(ref);
      if (ref !== POD_SPEC || options.podSpecFields) strip(schemas[ref]);
    }
    if (schema.items) strip(schema.items);
    if (typeof schema.additionalProperties === 'object') strip(schema.additionalProperties);
    for (const value of Object.values(schema.properties ?? {})) strip(value);
    for (const part of schema.allOf ?? []) strip(part);
    return schema;
  };
  for (const root of roots) {
    keep.add(root);
    strip(schemas[root]!);
  }
  const copy = (schema: Schema): Schema => {
    const { description, ...rest } = schema;
    const out: Schema = { ...rest };
    if (schema.type === 'string' && description) out.description = description;
    if (schema.items) out.items = copy(schema.items);
    if (typeof schema.additionalProperties === 'object') out.additionalProperties = copy(schema.additionalProperties);
    if (schema.allOf) out.allOf = schema.allOf.map(copy);
    if (schema.properties)
      out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, copy(v)]));
    return out;
  };
  const trimmed = (name: string): Schema =>
    name === POD_SPEC && !options.podSpecFields ? { type: 'object' } : copy(schemas[name]!);
  return { components: { schemas: Object.fromEntries([...keep].sort().map((name) => [name, trimmed(name)])) } };
}
