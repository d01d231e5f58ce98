// Strictness of ImagePolicies (pure), the counterpart of strictness.ts for the
// verified-image guarantee. Q dominates P when every image Q admits in a namespace, P
// admits too: Q covers every image glob P enforces, trusts no key, keyless identity or
// trusted root, or digest P does not,
// needs as many signers as P and every signer P requires, every attestation P asks for
// (no other signer, every condition kept), requires digests if P does,
// enforces if P does, and denies unmatched images if P does.
// An Audit or Warn policy that allows unmatched images never denies, so anything
// dominates it; an invalid policy denies every image, so it dominates everything.

import { isDeepStrictEqual } from 'node:util';
import type { CompiledAttestation, CompiledAuthority, CompiledImagePolicy } from './compiled.ts';
import type { CompiledGlob } from './glob.ts';
import type { ImagePolicy } from './generated/types.ts';
import { isEmptySelector } from './selector.ts';
import { setLoosenings } from './strictness.ts';

/** Whether every image `p` matches is also matched by `q`; sound, not complete (unsure means no). */
export function globCovers(q: CompiledGlob, p: CompiledGlob): boolean {
  if (q.source === p.source) return true;
  if (!/[*?]/.test(p.source)) return q.regex.test(p.source);
  // "prefix/**" covers anything whose literal text starts with that prefix.
  const rest = q.source.endsWith('**') ? q.source.slice(0, -2) : undefined;
  return rest !== undefined && !/[*?]/.test(rest) && p.literalPrefix.startsWith(rest);
}

/** Q's authority trusts no signer P's does not: the same key, or the same trusted root and no other identity. */
function sameAuthority(q: CompiledAuthority, p: CompiledAuthority): boolean {
  if (q.kind === 'keyless' && p.kind === 'keyless')
    return (
      isDeepStrictEqual(q.trustedRootRef, p.trustedRootRef) &&
      q.identities.every((i) => p.identities.some((j) => j.text === i.text))
    );
  if (q.kind !== 'key' || p.kind !== 'key') return false;
  const [a, b] = [q.key, p.key];
  if ('inline' in a && 'inline' in b) return a.inline.equals(b.inline);
  if ('secretRef' in a && 'secretRef' in b) return isDeepStrictEqual(a.secretRef, b.secretRef);
  return false;
}

function describeAuthority(a: CompiledAuthority): string {
  if (a.kind === 'digests') return `authority ${a.name}`;
  if (a.kind === 'keyless')
    return `keyless ${a.name} (${a.identities.map((i) => i.text).join('; ')}; trusted root in ConfigMap ${
      a.trustedRootRef.namespace
    }/${a.trustedRootRef.name})`;
  return 'secretRef' in a.key
    ? `the key in Secret ${a.key.secretRef.namespace}/${a.key.secretRef.name} (${a.name})`
    : `key ${a.name}`;
}

function trustedByQOnly(q: CompiledImagePolicy, p: CompiledImagePolicy): string[] {
  const pDigests = new Set(p.authorities.flatMap((a) => (a.kind === 'digests' ? [...a.digests] : [])));
  const found: string[] = [];
  for (const a of q.authorities) {
    if (a.kind === 'digests') {
      const extra = [...a.digests].filter((d) => !pDigests.has(d));
      const more = extra.length > 3 ? ` and ${extra.length - 3} more` : '';
      if (extra.length > 0)
        found.push(`approve digest${extra.length > 1 ? 's' : ''} ${extra.slice(0, 3).join(', ')}${more}`);
    } else if (!p.authorities.some((b) => sameAuthority(a, b))) {
      found.push(`trust ${describeAuthority(a)}`);
    }
  }
  return found;
}

/** A lower threshold, or a signer P requires that Q does not (the same key or digest list, whatever its name). */
function fewerSignOffs(q: CompiledImagePolicy, p: CompiledImagePolicy): string[] {
  const found: string[] = [];
  if (q.threshold < p.threshold) found.push(`need ${q.threshold} signers instead of ${p.threshold}`);
  const qRequired = q.authorities.filter((a) => q.required.includes(a.name));
  for (const name of p.required) {
    const a = p.authorities.find((x) => x.name === name);
    if (!a) continue;
    const kept = qRequired.some((b) =>
      a.kind === 'digests'
        ? b.kind === 'digests' && [...b.digests].every((d) => a.digests.has(d))
        : sameAuthority(b, a),
    );
    if (!kept) found.push(`stop requiring ${describeAuthority(a)}`);
  }
  for (const a of p.attestations) if (!attestationKept(q, p, a)) found.push(`require less of attestation ${a.name}`);
  return found;
}

/** Q asks for P's attestation `a`: same predicate type, signed by no other key, every condition of P kept (by text). */
function attestationKept(q: CompiledImagePolicy, p: CompiledImagePolicy, a: CompiledAttestation): boolean {
  const keysOf = (policy: CompiledImagePolicy, names: readonly string[]) =>
    policy.authorities.filter((x) => names.includes(x.name));
  const pKeys = keysOf(p, a.authorities);
  return q.attestations.some(
    (b) =>
      b.predicateType === a.predicateType &&
      keysOf(q, b.authorities).every((k) => pKeys.some((pk) => sameAuthority(k, pk))) &&
      a.conditions.every((c) => b.conditions.some((d) => d.expression === c.expression)),
  );
}

/** Whether an ImagePolicy can deny anything: enforced, denying unmatched images, or invalid (denies all). */
export function imagePolicyDenies(p: CompiledImagePolicy): boolean {
  return p.invalid !== undefined || p.enforcement === 'Enforce' || p.unmatchedImages === 'Deny';
}

/** What Q admits that P would not, as phrases that read after "would"; empty when Q dominates P. */
export function imageLooseningsOf(q: CompiledImagePolicy, p: CompiledImagePolicy): string[] {
  if (q.invalid !== undefined) return [];
  if (p.invalid !== undefined) return ['stop denying every image (it is invalid)'];
  const enforcing = p.enforcement === 'Enforce';
  const found: string[] = [];
  if (p.unmatchedImages === 'Deny' && q.unmatchedImages !== 'Deny') found.push('allow images no ImagePolicy matches');
  if (enforcing || p.unmatchedImages === 'Deny') {
    for (const glob of p.images)
      if (!q.images.some((g) => globCovers(g, glob))) found.push(`stop covering ${glob.source}`);
  }
  if (enforcing) {
    if (q.enforcement !== 'Enforce') found.push(`switch to ${q.enforcement}`);
    if (p.requireDigest && !q.requireDigest) found.push('accept images by tag');
    found.push(...trustedByQOnly(q, p), ...fewerSignOffs(q, p));
  }
  return found;
}

/** How the ImagePolicies applying to namespace `namespace` would be loosened by going from `before` to `after`. */
export function imageSetLoosenings(
  before: readonly CompiledImagePolicy[],
  after: readonly CompiledImagePolicy[],
  namespace: string,
): string[] {
  return setLoosenings(before, after, {
    loosenings: imageLooseningsOf,
    describe: (p) => `ImagePolicy ${p.name}`,
    govern: `apply to namespace ${namespace}`,
    deniesAnything: imagePolicyDenies,
  });
}

/**
 * Whether a changed ImagePolicy might apply to fewer namespaces than before. Judged on the
 * match as written (the namespaces of tomorrow count too): only an unchanged or widened
 * match (names added, selector removed) is not a narrowing.
 */
export function matchNarrowed(before: ImagePolicy['spec']['match'], after: ImagePolicy['spec']['match']): boolean {
  const oldNames = before?.namespaces ?? [];
  const newNames = after?.namespaces ?? [];
  if (newNames.length > 0 && (oldNames.length === 0 || oldNames.some((n) => !newNames.includes(n)))) return true;
  return (
    !isEmptySelector(after?.namespaceSelector) &&
    !isDeepStrictEqual(before?.namespaceSelector, after?.namespaceSelector)
  );
}
