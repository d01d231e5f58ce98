// ImagePolicy object -> compiled policy, or every problem with its field path.
// Globs become anchored regexes (over canonical image names) and PEM keys are parsed
// here, once.

import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import type { FieldProblem } from '../errors.ts';
import { compileCondition } from './compile-cel.ts';
import { compileKeyless, keylessSignerId } from './compile-keyless.ts';
import type { CompiledAttestation, CompiledAuthority, CompiledCondition, CompiledImagePolicy } from './compiled.ts';
import { sourceOf, type CompileResult } from './compile-immutability.ts';
import type { ImagePolicy } from './generated/types.ts';
import { compileGlob, globProblem } from './glob.ts';
import { canonicalImageGlob } from './image-glob.ts';
import { checkNamespaceMatch, compileNamespaceMatch } from './namespace-match.ts';
import type { CrdValidator } from './schemas.ts';
import { cloneJson } from '../json/clone.ts';

/** Key types cosign produces and we verify: ECDSA P-256/P-384, RSA >= 2048, Ed25519. */
function keyProblem(key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'ec' && (details.namedCurve === 'prime256v1' || details.namedCurve === 'secp384r1')) return undefined;
  if (type === 'rsa' && (details.modulusLength ?? 0) >= 2048) return undefined;
  if (type === 'ed25519') return undefined;
  return (
    `unsupported key type ${type}${details.namedCurve ? ` (${details.namedCurve})` : ''}: use ECDSA P-256 ` +
    `(cosign's default), P-384, RSA >= 2048 or Ed25519`
  );
}

export function parsePublicKey(pem: string): { key: KeyObject } | { problem: string } {
  if (!/-----BEGIN PUBLIC KEY-----/.test(pem))
    return { problem: 'is not a PEM public key (expected -----BEGIN PUBLIC KEY-----, as in cosign.pub)' };
  try {
    const key = createPublicKey(pem);
    const problem = keyProblem(key);
    return problem ? { problem } : { key };
  } catch (err) {
    return { problem: `cannot be parsed: ${(err as Error).message}` };
  }
}

function checkCaBundle(pem: string): string | undefined {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return 'contains no PEM certificate';
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      return `holds a certificate that cannot be parsed: ${(err as Error).message}`;
    }
  }
  return undefined;
}

/**
 * Threshold and required signers: names that exist, a threshold the authorities can reach
 * (an unreachable one would deny every image), and each signer once: two authorities with
 * the same key would let one signature count twice.
 */
function signerProblems(spec: ImagePolicy['spec'], authorities: readonly CompiledAuthority[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const names = new Set(spec.authorities.map((a) => a.name));
  (spec.required ?? []).forEach((name, i) => {
    if (!names.has(name))
      problems.push({ path: `spec.required[${i}]`, message: `names no authority (${JSON.stringify(name)})` });
  });
  const threshold = spec.threshold ?? 1;
  if (threshold > names.size)
    problems.push({
      path: 'spec.threshold',
      message: `${threshold} cannot be reached: the policy has ${names.size} authorit${names.size === 1 ? 'y' : 'ies'}`,
    });
  const seen: { name: string; id: string }[] = [];
  for (const a of authorities) {
    if (a.kind === 'digests') continue;
    const id =
      a.kind === 'keyless'
        ? keylessSignerId(a)
        : 'inline' in a.key
          ? `key:${a.key.inline.export({ type: 'spki', format: 'der' }).toString('base64')}`
          : `secret:${a.key.secretRef.namespace}/${a.key.secretRef.name}/${a.key.secretRef.key}`;
    const twin = seen.find((s) => s.id === id);
    if (twin) {
      const at = spec.authorities.findIndex((x) => x.name === a.name);
      const same = a.kind === 'keyless' ? 'has the same trusted root and identities' : 'is the same key';
      problems.push({
        path: `spec.authorities[${at}].${a.kind}`,
        message: `${same} as authority ${JSON.stringify(twin.name)}: a signer counts once`,
      });
    }
    seen.push({ name: a.name, id });
  }
  return problems;
}

/** Attestations: known key authorities, and conditions compiled (CEL) once, here. */
function compileAttestations(
  spec: ImagePolicy['spec'],
  authorities: readonly CompiledAuthority[],
  problems: FieldProblem[],
): CompiledAttestation[] {
  const keys = authorities.filter((a) => a.kind !== 'digests').map((a) => a.name);
  return (spec.attestations ?? []).map((a, i) => {
    const at = `spec.attestations[${i}]`;
    (a.authorities ?? []).forEach((name, j) => {
      if (!keys.includes(name))
        problems.push({
          path: `${at}.authorities[${j}]`,
          message: `names no key or keyless authority (${JSON.stringify(name)})`,
        });
    });
    if (keys.length === 0)
      problems.push({ path: at, message: 'the policy has no key or keyless authority to verify it with' });
    const conditions: CompiledCondition[] = [];
    (a.conditions ?? []).forEach((c, j) => {
      const compiled = compileCondition(c.expression, c.message, `${at}.conditions[${j}].expression`);
      if ('problem' in compiled) problems.push(compiled.problem);
      else conditions.push(compiled.condition);
    });
    return { name: a.name, predicateType: a.predicateType, authorities: a.authorities ?? keys, conditions };
  });
}

/** `validate` is the ImagePolicy CRD's validator (see schemas.ts; policy/compiler.ts binds it). */
export function compileImagePolicy(raw: unknown, validate: CrdValidator): CompileResult<CompiledImagePolicy> {
  const object = cloneJson(raw) as ImagePolicy;
  const source = sourceOf(object ?? {});
  const schemaProblems = validate(object);
  if (schemaProblems.length > 0) return { ok: false, problems: schemaProblems, source };
  const { spec } = object;
  const problems: FieldProblem[] = checkNamespaceMatch(spec.match, 'spec.match');
  spec.images.forEach((glob, i) => {
    const problem = globProblem(glob);
    if (problem) problems.push({ path: `spec.images[${i}]`, message: `${JSON.stringify(glob)} ${problem}` });
  });
  const authorities: CompiledAuthority[] = [];
  const names = new Set<string>();
  spec.authorities.forEach((a, i) => {
    const at = `spec.authorities[${i}]`;
    if (names.has(a.name))
      problems.push({ path: `${at}.name`, message: `duplicate authority name ${JSON.stringify(a.name)}` });
    names.add(a.name);
    if ([a.key, a.digests, a.keyless].filter((x) => x !== undefined).length !== 1) {
      problems.push({ path: at, message: 'needs exactly one of key, keyless or digests' });
      return;
    }
    if (a.keyless) {
      authorities.push(compileKeyless(a.name, a.keyless, `${at}.keyless`, problems));
      return;
    }
    if (a.digests) {
      authorities.push({ name: a.name, kind: 'digests', digests: new Set(a.digests) });
      return;
    }
    const key = a.key!;
    if ((key.publicKey === undefined) === (key.secretRef === undefined)) {
      problems.push({ path: `${at}.key`, message: 'needs exactly one of publicKey or secretRef' });
    } else if (key.publicKey !== undefined) {
      const parsed = parsePublicKey(key.publicKey);
      if ('problem' in parsed) problems.push({ path: `${at}.key.publicKey`, message: parsed.problem });
      else authorities.push({ name: a.name, kind: 'key', key: { inline: parsed.key } });
    } else {
      const ref = key.secretRef!;
      authorities.push({
        name: a.name,
        kind: 'key',
        key: { secretRef: { namespace: ref.namespace, name: ref.name, key: ref.key ?? 'cosign.pub' } },
      });
    }
  });
  problems.push(...signerProblems(spec, authorities));
  const attestations = compileAttestations(spec, authorities, problems);
  if (spec.registry?.caBundle !== undefined) {
    const problem = checkCaBundle(spec.registry.caBundle);
    if (problem) problems.push({ path: 'spec.registry.caBundle', message: problem });
  }
  if (problems.length > 0) return { ok: false, problems, source };

  const namespaceMatch = compileNamespaceMatch(spec.match);
  const registry = spec.registry ?? {};
  const policy: CompiledImagePolicy = {
    ...source,
    images: spec.images.map((glob) => compileGlob(canonicalImageGlob(glob))),
    requireDigest: spec.requireDigest ?? true,
    authorities,
    threshold: spec.threshold ?? 1,
    required: [...new Set(spec.required ?? [])],
    attestations,
    registry: {
      insecure: registry.insecure ?? false,
      ...(registry.caBundle ? { caBundle: registry.caBundle } : {}),
      ...(registry.credentialsSecretRef ? { credentialsSecretRef: { ...registry.credentialsSecretRef } } : {}),
    },
    enforcement: spec.enforcement ?? 'Enforce',
    unmatchedImages: spec.unmatchedImages ?? 'Deny',
    matchNamespace: (namespace, labels) => namespaceMatch(namespace, labels),
  };
  return { ok: true, policy: Object.freeze(policy) };
}
