// What a verification result depends on besides the digest and the policy object: the
// trusted keys as they are now (inline, or read from a Secret), the keyless authorities'
// trusted roots (read from ConfigMaps) and the registry access
// (credentials from the policy's Secret and the pod's pull Secrets, CA bundle, plain
// HTTP). Read before any registry round trip, and fingerprinted, so that a cached result
// is only ever served for the same material: after a key rotation, or to a namespace
// with other pull credentials, the digest is verified again.
//
// A key kept in a Secret is trusted only while that Secret carries the lock label: then
// swapping the key is a change of a locked object and needs an approved UnlockRequest,
// like any other; an unlocked key Secret fails closed.

import { createHash, type KeyObject } from 'node:crypto';
import type { ReadSecret, SecretRef } from '../cluster/secrets.ts';
import { dockerConfigText, secretText } from '../cluster/secrets.ts';
import { parsePublicKey } from '../policy/compile-image.ts';
import type { CompiledAuthority, CompiledImagePolicy, LockLabel } from '../policy/compiled.ts';
import type { RegistryAccess } from '../registry/client.ts';
import { credentialsFor, parseDockerConfig, type DockerConfig } from '../registry/credentials.ts';
import { keyHint } from '../rules/images/cosign/keys.ts';
import type { KeylessAuthority } from '../policy/compile-keyless.ts';
import { resolveTrustedRoot, type ReadConfigMap, type ResolvedRoot } from './trusted-root.ts';
import type { VerificationTask } from '../rules/images/verification.ts';

export type KeyAuthority = Extract<CompiledAuthority, { kind: 'key' }>;
export type Resolved<T> = T | { problem: string };

export interface VerificationMaterial {
  /** One entry per key authority of the policy, in order. */
  keys: readonly { authority: KeyAuthority; key: Resolved<{ key: KeyObject }> }[];
  /** One entry per keyless authority, in order: its trusted root, parsed. */
  roots: readonly { authority: KeylessAuthority; root: Resolved<ResolvedRoot> }[];
  access: Resolved<RegistryAccess>;
  /** Digest of all of the above: part of the cache key. */
  fingerprint: string;
}

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

/** Parsed keys by PEM text: a key Secret is read on every request (from a short cache), parsed once. */
const parsedKeys = new Map<string, ReturnType<typeof parsePublicKey>>();

function parseCached(pem: string): ReturnType<typeof parsePublicKey> {
  let parsed = parsedKeys.get(pem);
  if (!parsed) {
    if (parsedKeys.size >= 256) parsedKeys.clear();
    parsed = parsePublicKey(pem);
    parsedKeys.set(pem, parsed);
  }
  return parsed;
}

async function resolveKey(
  authority: KeyAuthority,
  readSecret: ReadSecret | undefined,
  lockLabel: LockLabel,
  signal: AbortSignal,
): Promise<Resolved<{ key: KeyObject }>> {
  if ('inline' in authority.key) return { key: authority.key.inline };
  const ref = authority.key.secretRef;
  if (!readSecret)
    return {
      problem: `the key is in Secret ${ref.namespace}/${ref.name}, but there is no cluster connection to read it`,
    };
  try {
    const secret = await readSecret(ref, signal);
    const text = secretText(secret, ref);
    if ('problem' in text) return text;
    if (secret?.labels[lockLabel.key] !== lockLabel.value) {
      return {
        problem:
          `the key Secret ${ref.namespace}/${ref.name} is not locked ` +
          `(labelled ${lockLabel.key}=${lockLabel.value}), so anyone who can write it could swap the trusted ` +
          `key; lock it (kubectl bulwark lock secret/${ref.name} -n ${ref.namespace}) and rotate keys through ` +
          `an UnlockRequest`,
      };
    }
    const parsed = parseCached(text.text);
    return 'problem' in parsed
      ? { problem: `the key in Secret ${ref.namespace}/${ref.name} (${ref.key}) ${parsed.problem}` }
      : parsed;
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

/**
 * Credentials: the policy's Secret first (missing: a configuration failure), then the pod's pull Secrets (missing:
 * skipped, as the kubelet does).
 */
export async function registryAccess(
  task: Pick<VerificationTask, 'image' | 'policy' | 'pullSecrets'>,
  readSecret: ReadSecret | undefined,
  signal: AbortSignal,
): Promise<Resolved<RegistryAccess>> {
  const { registry } = task.policy;
  const configs: DockerConfig[] = [];
  const read = async (ref: SecretRef, required: boolean): Promise<string | undefined> => {
    const what = required
      ? `the policy's registry credentials, Secret ${ref.namespace}/${ref.name}`
      : `pull Secret ${ref.namespace}/${ref.name}`;
    if (!readSecret) return required ? `${what} cannot be read without a cluster connection` : undefined;
    try {
      const secret = await readSecret(ref, signal);
      if (!secret) return required ? `${what} does not exist` : undefined;
      const text = dockerConfigText(secret, ref);
      if ('problem' in text) return required ? text.problem : undefined;
      configs.push(parseDockerConfig(text.text, `Secret ${ref.namespace}/${ref.name}`));
      return undefined;
    } catch (err) {
      return required ? `${what} is unusable: ${(err as Error).message}` : undefined;
    }
  };
  if (registry.credentialsSecretRef) {
    const problem = await read(registry.credentialsSecretRef, true);
    if (problem) return { problem };
  }
  for (const ref of task.pullSecrets) await read(ref, false);
  return {
    registry: task.image.registry,
    insecure: registry.insecure,
    ...(registry.caBundle ? { caBundle: registry.caBundle } : {}),
    credentials: credentialsFor(task.image.registry, configs),
  };
}

/**
 * Material that reads nothing (inline keys or approved digests only, no credentials
 * Secret, no pull Secrets) is the same on every request: made once per compiled policy
 * (a new resourceVersion is a new object) and registry host, so that the warm path does
 * not fingerprint it again.
 */
const constant = new WeakMap<CompiledImagePolicy, Map<string, VerificationMaterial>>();
/** Registries remembered per policy (a `**` glob admits any host); beyond them, the map starts over. */
const MAX_REGISTRIES = 64;

function readsNothing(task: VerificationTask): boolean {
  const { policy } = task;
  return (
    task.pullSecrets.length === 0 &&
    policy.registry.credentialsSecretRef === undefined &&
    policy.authorities.every((a) => a.kind === 'digests' || (a.kind === 'key' && 'inline' in a.key))
  );
}

/** Reads keys and registry access for one task (Secrets come from the short-lived Secret cache). */
export async function resolveMaterial(
  task: VerificationTask,
  readSecret: ReadSecret | undefined,
  lockLabel: LockLabel,
  signal: AbortSignal,
  readConfigMap?: ReadConfigMap,
): Promise<VerificationMaterial> {
  if (!readsNothing(task)) return readMaterial(task, readSecret, lockLabel, signal, readConfigMap);
  let byRegistry = constant.get(task.policy);
  let material = byRegistry?.get(task.image.registry);
  if (material) return material;
  material = await readMaterial(task, readSecret, lockLabel, signal, readConfigMap);
  if (!byRegistry || byRegistry.size >= MAX_REGISTRIES) {
    byRegistry = new Map();
    constant.set(task.policy, byRegistry);
  }
  byRegistry.set(task.image.registry, material);
  return material;
}

async function readMaterial(
  task: VerificationTask,
  readSecret: ReadSecret | undefined,
  lockLabel: LockLabel,
  signal: AbortSignal,
  readConfigMap?: ReadConfigMap,
): Promise<VerificationMaterial> {
  const authorities = task.policy.authorities.filter((a): a is KeyAuthority => a.kind === 'key');
  const keyless = task.policy.authorities.filter((a): a is KeylessAuthority => a.kind === 'keyless');
  const [keys, roots, access] = await Promise.all([
    Promise.all(
      authorities.map(async (authority) => ({
        authority,
        key: await resolveKey(authority, readSecret, lockLabel, signal),
      })),
    ),
    Promise.all(
      keyless.map(async (authority) => ({
        authority,
        root: await resolveTrustedRoot(authority, readConfigMap, lockLabel, signal),
      })),
    ),
    // Approved digests alone need no registry, and so no credentials.
    authorities.length + keyless.length > 0
      ? registryAccess(task, readSecret, signal)
      : Promise.resolve<Resolved<RegistryAccess>>({ problem: 'no key or keyless authority' }),
  ]);
  return { keys, roots, access, fingerprint: fingerprintOf(keys, roots, access) };
}

const hints = new WeakMap<KeyObject, string>();

/** cosign's key hint of `key`, computed once per key object. */
export function hintOf(key: KeyObject): string {
  let hint = hints.get(key);
  if (hint === undefined) {
    hint = keyHint(key);
    hints.set(key, hint);
  }
  return hint;
}

function fingerprintOf(
  keys: VerificationMaterial['keys'],
  roots: VerificationMaterial['roots'],
  access: Resolved<RegistryAccess>,
): string {
  const parts = {
    keys: keys.map(({ authority, key }) => [authority.name, 'key' in key ? hintOf(key.key) : `problem:${key.problem}`]),
    roots: roots.map(({ authority, root }) => [
      authority.name,
      'problem' in root ? `problem:${root.problem}` : root.fingerprint,
    ]),
    access:
      'problem' in access
        ? `problem:${access.problem}`
        : {
            registry: access.registry,
            insecure: access.insecure,
            ca: access.caBundle ? sha256(access.caBundle) : '',
            // Which credentials, not just whether: another password may see other content.
            credentials: access.credentials.map((c) => sha256(`${c.username}\u0000${c.password}`)),
          },
  };
  return sha256(JSON.stringify(parts));
}
