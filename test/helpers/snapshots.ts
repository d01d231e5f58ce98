// Policy snapshots and stores for tests, with one policy compiler per test file (the CRD
// validators compiled once, as the composition root does at start-up).

import { BUILTIN_IMMUTABILITY_POLICY, DEFAULT_LOCK_LABEL, DEFAULT_POLICY_ADMINS } from '../../src/policy/builtin.ts';
import type { CompiledImmutabilityPolicy, LockLabel, PolicySnapshot, SubjectSet } from '../../src/policy/compiled.ts';
import { createPolicyCompiler } from '../../src/policy/compiler.ts';
import { buildImageIndex } from '../../src/policy/image-index.ts';
import { buildImmutabilityIndex } from '../../src/policy/immutability-index.ts';
import { PolicyStore, type PolicyStoreOptions } from '../../src/policy/store.ts';

import type { AttestationKeyRing } from '../../src/attestation/keys.ts';
import { TEST_KEYS } from './attestation.ts';

export const compiler = createPolicyCompiler();

/** A snapshot of exactly these compiled policies, synced unless `pending` names sources. */
export function snapshotOf(
  options: {
    lockLabel?: LockLabel;
    defaultImmutability?: CompiledImmutabilityPolicy;
    immutability?: readonly CompiledImmutabilityPolicy[];
    images?: PolicySnapshot['images'];
    policyAdmins?: SubjectSet;
    pending?: readonly string[];
    /** Of `pending`, those that had synced and lost their watch past the grace. */
    lost?: readonly string[];
    attestation?: AttestationKeyRing;
  } = {},
): PolicySnapshot {
  return Object.freeze({
    lockLabel: options.lockLabel ?? DEFAULT_LOCK_LABEL,
    defaultImmutability: options.defaultImmutability ?? BUILTIN_IMMUTABILITY_POLICY,
    immutability: buildImmutabilityIndex(options.immutability ?? []),
    images: options.images ?? [],
    imageIndex: buildImageIndex(options.images ?? []),
    problems: [],
    policyAdmins: options.policyAdmins ?? DEFAULT_POLICY_ADMINS,
    synced: (options.pending ?? []).length === 0,
    pending: options.pending ?? [],
    lost: options.lost ?? [],
    compiler,
    attestation: 'attestation' in options ? options.attestation : TEST_KEYS,
  });
}

/** No policies at all: the built-in default applies to every labelled object. */
export function builtinSnapshot(lockLabel: LockLabel = DEFAULT_LOCK_LABEL): PolicySnapshot {
  return snapshotOf({ lockLabel });
}

/** A policy store with this file's compiler. */
export function policyStore(options: Omit<PolicyStoreOptions, 'compiler'>): PolicyStore {
  return new PolicyStore({ compiler, attestation: TEST_KEYS, ...options });
}

/** A store holding these ImagePolicies (and nothing else). */
export function imagePolicyStore(...policies: Record<string, unknown>[]): PolicyStore {
  const store = policyStore({ sources: [] });
  for (const p of policies) store.upsert('ImagePolicy', p);
  return store;
}
