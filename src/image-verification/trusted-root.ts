// The trusted root of a keyless authority: sigstore's trusted_root.json (Fulcio CA
// chains, Rekor and CT log keys, with their validity), held in a ConfigMap the policy
// names and read like key Secrets are (short cache, re-read within 10 s). It is parsed
// into @sigstore/verify's trust material once per content, never fetched from the
// network: what is trusted is exactly what the ConfigMap says.
//
// Like a key Secret, the ConfigMap must carry the lock label: whoever can write it
// decides which certificates and logs are trusted.

import { createHash } from 'node:crypto';
import type { TrustMaterial } from '@sigstore/verify';
import type { ReadSecret } from '../cluster/secrets.ts';
import type { KeylessAuthority } from '../policy/compile-keyless.ts';
import type { LockLabel } from '../policy/compiled.ts';

/** Reads a ConfigMap in the shape of a Secret (cluster/secrets.ts with resource configmaps). */
export type ReadConfigMap = ReadSecret;

export interface ResolvedRoot {
  material: TrustMaterial;
  /** SHA-256 of the trusted root's text: part of the cache key. */
  fingerprint: string;
}

const parsed = new Map<string, ResolvedRoot | { problem: string }>();

/**
 * Parses trusted_root.json text into trust material, or says what is wrong with it. The
 * sigstore libraries load at the first one (issue 19: not at start).
 */
export async function parseTrustedRoot(text: string): Promise<ResolvedRoot | { problem: string }> {
  const fingerprint = createHash('sha256').update(text).digest('hex');
  const known = parsed.get(fingerprint);
  if (known) return known;
  const [{ TrustedRoot }, { toTrustMaterial }] = await Promise.all([
    import('@sigstore/protobuf-specs'),
    import('@sigstore/verify'),
  ]);
  let result: ResolvedRoot | { problem: string };
  try {
    const root = TrustedRoot.fromJSON(JSON.parse(text));
    const missing = [
      root.certificateAuthorities.length === 0 ? 'certificateAuthorities (Fulcio)' : '',
      root.tlogs.length === 0 ? 'tlogs (Rekor)' : '',
      root.ctlogs.length === 0 ? 'ctlogs (CT)' : '',
    ].filter((m) => m !== '');
    result =
      missing.length > 0
        ? { problem: `is a trusted root without ${missing.join(', ')}` }
        : { material: toTrustMaterial(root), fingerprint };
  } catch (err) {
    result = { problem: `is not a sigstore trusted_root.json (${(err as Error).message})` };
  }
  if (parsed.size >= 64) parsed.clear();
  parsed.set(fingerprint, result);
  return result;
}

export async function resolveTrustedRoot(
  authority: KeylessAuthority,
  readConfigMap: ReadConfigMap | undefined,
  lockLabel: LockLabel,
  signal: AbortSignal,
): Promise<ResolvedRoot | { problem: string }> {
  const ref = authority.trustedRootRef;
  const where = `ConfigMap ${ref.namespace}/${ref.name}`;
  if (!readConfigMap)
    return { problem: `the trusted root is in ${where}, but there is no cluster connection to read it` };
  try {
    const configMap = await readConfigMap(ref, signal);
    if (!configMap) return { problem: `the trusted root's ${where} does not exist` };
    const value = configMap.data.get(ref.key);
    if (!value)
      return {
        problem: `the trusted root's ${where} has no key ${JSON.stringify(ref.key)} (keys: ${
          [...configMap.data.keys()].join(', ') || 'none'
        })`,
      };
    if (configMap.labels[lockLabel.key] !== lockLabel.value)
      return {
        problem:
          `the trusted root's ${where} is not locked (labelled ${lockLabel.key}=${lockLabel.value}), so anyone ` +
          `who can write it could choose which certificates and logs are trusted; lock it (kubectl bulwark lock ` +
          `configmap/${ref.name} -n ${ref.namespace}) and change it through an UnlockRequest`,
      };
    const root = await parseTrustedRoot(value.toString('utf8'));
    return 'problem' in root ? { problem: `the ${ref.key} in ${where} ${root.problem}` } : root;
  } catch (err) {
    return { problem: (err as Error).message };
  }
}
