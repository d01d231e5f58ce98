// The CRD YAML in charts/bulwark/files/crds is the single source of truth for policy shapes.
// This module reads it; schemas.ts compiles its openAPIV3Schema with ajv, and
// src/policy/generated/types.ts is generated from it (scripts/generate-policy-types.ts).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORE_SCHEMA, load } from 'js-yaml';
import { BaseError, messageOf } from '../errors.ts';

export const CRD_DIR = join(import.meta.dirname, '..', '..', 'charts', 'bulwark', 'files', 'crds');

export const POLICY_KINDS = {
  ImmutabilityPolicy: { file: 'immutabilitypolicies.bulwark.dev.yaml', plural: 'immutabilitypolicies' },
  ImagePolicy: { file: 'imagepolicies.bulwark.dev.yaml', plural: 'imagepolicies' },
} as const;

export type PolicyKind = keyof typeof POLICY_KINDS;

/** Every CRD of ours, with its YAML file and plural. */
export const BULWARK_KINDS = {
  ...POLICY_KINDS,
  UnlockRequest: { file: 'unlockrequests.bulwark.dev.yaml', plural: 'unlockrequests' },
} as const;

export type BulwarkKind = keyof typeof BULWARK_KINDS;
export const POLICY_GROUP = 'bulwark.dev';
export const POLICY_VERSION = 'v1alpha1';
export const POLICY_API_VERSION = `${POLICY_GROUP}/${POLICY_VERSION}`;

/**
 * The two kinds of unlock request: one schema (the UnlockRequest CRD's), two scopes. A CRD's
 * scope cannot change, so the namespaced kind is a second CRD (SubjectAccessReview and
 * LocalSubjectAccessReview are Kubernetes' precedent); its file is generated from the first.
 */
export const UNLOCK_KINDS = {
  UnlockRequest: { plural: 'unlockrequests', namespaced: false },
  LocalUnlockRequest: { plural: 'localunlockrequests', namespaced: true },
} as const;

export type UnlockKind = keyof typeof UNLOCK_KINDS;

export const isUnlockKind = (kind: unknown): kind is UnlockKind =>
  typeof kind === 'string' && Object.hasOwn(UNLOCK_KINDS, kind);

/** The API path of unlock requests of `kind`: all of them, those of a namespace, or one. */
export function unlockPath(kind: UnlockKind, namespace?: string, name?: string): string {
  const ns = UNLOCK_KINDS[kind].namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `/apis/${POLICY_API_VERSION}${ns}/${UNLOCK_KINDS[kind].plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export type JsonSchema = Record<string, unknown>;

interface CrdDocument {
  spec: { names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: JsonSchema } }[] };
}

export function readCrd(kind: BulwarkKind): CrdDocument {
  const file = join(CRD_DIR, BULWARK_KINDS[kind].file);
  try {
    // js-yaml with the core schema: the same document as the `yaml` package reads, several times faster (start-up).
    return load(readFileSync(file, 'utf8'), { schema: CORE_SCHEMA }) as CrdDocument;
  } catch (err) {
    throw new BaseError('CRD_UNREADABLE', `cannot read the ${kind} CRD from ${file}: ${messageOf(err)}`, {
      cause: err,
    });
  }
}

/** The openAPIV3Schema of `kind` at v1alpha1. */
export function crdSchema(kind: BulwarkKind): JsonSchema {
  const version = readCrd(kind).spec?.versions?.find((v) => v.name === POLICY_VERSION);
  if (!version) throw new BaseError('CRD_UNREADABLE', `the ${kind} CRD has no ${POLICY_VERSION} version`);
  return version.schema.openAPIV3Schema;
}
