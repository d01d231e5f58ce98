// cosign v3's default signature: a sigstore bundle (media type
// application/vnd.dev.sigstore.bundle.v0.3+json) holding a DSSE envelope whose payload
// is an in-toto statement:
//   {"_type":"https://in-toto.io/Statement/v1",
//    "subject":[{"digest":{"sha256":"<hex>"}}],
//    "predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}
// The envelope signature is checked by @sigstore/verify with trust material that holds
// only the policy's public key; the statement is then checked here.

import type { KeyObject } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { crypto as sigstoreCrypto, dsse } from '@sigstore/core';
import { Verifier, toSignedEntity, type SignedEntity, type TrustMaterial } from '@sigstore/verify';
import { keyHint } from './keys.ts';
import { signedBy, verifyKeylessEntity, type KeylessSigner, type KeylessTrust } from './keyless.ts';
import type { SignatureCheck } from './legacy.ts';
import { parseStatement, subjectProblem } from './statement.ts';

export { BUNDLE_MEDIA_TYPE, referrersFallbackTag } from './names.ts';
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

function trustMaterialFor(key: KeyObject): TrustMaterial {
  return {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    // The policy names exactly one key per authority, so the bundle's hint only
    // selects among one: the key is used whatever the hint says (the signature decides).
    publicKey: () => ({ publicKey: key, validFor: () => true }),
  };
}

/** Key-based and offline: no transparency log, certificate log or timestamp is required. */
const VERIFIER_OPTIONS = { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 } as const;

/**
 * @sigstore/verify (4.1) lets Node choose the hash from the key, which is SHA-256 for
 * every EC key; cosign signs with a P-384 key over SHA-384 (and cosign 3.1.3 itself
 * cannot verify those bundles either: sigstore/cosign#5091). For P-384 keys the
 * envelope's signature is therefore also accepted over SHA-384, still computed by
 * @sigstore/core on the DSSE pre-authentication encoding.
 */
function withCurveHash(
  entity: SignedEntity,
  key: KeyObject,
  envelope: { payloadType: string; payload: Buffer; signatures: { sig: Buffer }[] },
): SignedEntity {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') return entity;
  const signed = dsse.preAuthEncoding(envelope.payloadType, envelope.payload);
  const signature = envelope.signatures[0]?.sig ?? Buffer.alloc(0);
  const original = entity.signature;
  // Inherit everything else from the library's content object (its getters included).
  const content = Object.create(original) as SignedEntity['signature'];
  content.verifySignature = (k) => original.verifySignature(k) || sigstoreCrypto.verify(signed, k, signature, 'sha384');
  return { ...entity, signature: content };
}

/**
 * cosign 3.1 signing with a supplied certificate (`--certificate`) writes a v0.3 bundle
 * whose verification material is an x509CertificateChain, which v0.3 replaced by a single
 * `certificate`; @sigstore/bundle refuses that. Only the leaf ever counts (the chain comes
 * from the trusted root, never from the bundle), so the chain is read as its leaf.
 */
function leafOnly(json: unknown): unknown {
  const doc = json as { verificationMaterial?: { x509CertificateChain?: { certificates?: unknown[] } } } | null;
  const chain = doc?.verificationMaterial?.x509CertificateChain;
  if (
    !chain ||
    !Array.isArray(chain.certificates) ||
    !/v0\.3/.test(String((json as { mediaType?: unknown }).mediaType))
  )
    return json;
  const { x509CertificateChain: _chain, ...material } = doc.verificationMaterial!;
  return { ...doc, verificationMaterial: { ...material, certificate: chain.certificates[0] } };
}

function parseBundle(json: unknown): { bundle: Bundle } | { problem: string } {
  try {
    return { bundle: bundleFromJSON(leafOnly(json)) };
  } catch (err) {
    const fields = (err as { fields?: unknown }).fields;
    const which = Array.isArray(fields) && fields.length > 0 ? `: ${fields.slice(0, 4).join(', ')}` : '';
    return { problem: `a sigstore bundle is malformed (${(err as Error).message}${which})` };
  }
}

/** Checks what the verified statement says: cosign's signing predicate, with `digest` among its subjects. */
export function checkStatement(payloadType: string, payload: Buffer, digest: string): SignatureCheck {
  const parsed = parseStatement(payloadType, payload);
  if ('problem' in parsed) return { outcome: 'wrong-digest', reason: parsed.problem };
  const { statement } = parsed;
  if (statement.predicateType !== COSIGN_SIGN_PREDICATE) {
    return {
      outcome: 'wrong-digest',
      reason:
        `the signed statement has predicateType ${JSON.stringify(statement.predicateType)}, ` +
        `not ${COSIGN_SIGN_PREDICATE}`,
    };
  }
  const problem = subjectProblem(statement, digest);
  return problem ? { outcome: 'wrong-digest', reason: problem } : { outcome: 'ok', detail: 'sigstore bundle' };
}

type DsseBundle = { bundle: Bundle; envelope: Extract<Bundle['content'], { $case: 'dsseEnvelope' }>['dsseEnvelope'] };

/** A bundle document holding a DSSE envelope, as cosign writes for images; else why it is not genuine. */
function parseEnvelopeBundle(json: unknown): DsseBundle | { outcome: 'not-genuine'; reason: string } {
  const parsed = parseBundle(json);
  if ('problem' in parsed) return { outcome: 'not-genuine', reason: parsed.problem };
  const { bundle } = parsed;
  if (bundle.content.$case !== 'dsseEnvelope')
    return {
      outcome: 'not-genuine',
      reason: 'a sigstore bundle holds a message signature, not a DSSE envelope as cosign writes for images',
    };
  return { bundle, envelope: bundle.content.dsseEnvelope };
}

/** A verified DSSE envelope's content (and, keyless, who signed it), or why it does not verify. */
export type EnvelopeCheck =
  | { outcome: 'ok'; payloadType: string; payload: Buffer; signer?: KeylessSigner }
  | Exclude<SignatureCheck, { outcome: 'ok' }>;

/** Verifies a keyless bundle document (parsed JSON): certificate, log entry, SCT, identity, then the envelope. */
export function verifyKeylessBundleEnvelope(json: unknown, trust: KeylessTrust): EnvelopeCheck {
  const parsed = parseEnvelopeBundle(json);
  if ('outcome' in parsed) return parsed;
  const { bundle } = parsed;
  const checked = verifyKeylessEntity(toSignedEntity(bundle), trust);
  if (checked.outcome !== 'ok') return { ...checked, reason: `a sigstore bundle ${checked.reason}` };
  const envelope = parsed.envelope;
  return {
    outcome: 'ok',
    payloadType: envelope.payloadType,
    payload: Buffer.from(envelope.payload),
    signer: checked.signer,
  };
}

/** Verifies a bundle document (parsed JSON) with `key`: the DSSE envelope it holds, not yet what it says. */
export function verifyBundleEnvelope(json: unknown, key: KeyObject): EnvelopeCheck {
  const parsed = parseEnvelopeBundle(json);
  if ('outcome' in parsed) return parsed;
  const { bundle } = parsed;
  const material = bundle.verificationMaterial.content;
  if (material.$case !== 'publicKey') {
    return {
      outcome: 'untrusted-signer',
      reason: 'a sigstore bundle is keyless (signed with a certificate), not with this key',
    };
  }
  const { envelope } = parsed;
  const entity = withCurveHash(toSignedEntity(bundle), key, envelope);
  // Trust rests on the key alone. Transparency-log entries and timestamps, if the signer
  // added any, are not checked (there is no trusted root to check them against) and so
  // are not counted either: with thresholds of 0 they could only cause failures.
  entity.tlogEntries = [];
  entity.timestamps = [];
  try {
    new Verifier(trustMaterialFor(key), VERIFIER_OPTIONS).verify(entity);
  } catch (err) {
    // The bundle names the key that signed it: another key is an untrusted signer; the
    // trusted key (or none named) with a signature that does not verify is not genuine.
    const hint = material.publicKey.hint;
    if (hint && hint !== keyHint(key))
      return {
        outcome: 'untrusted-signer',
        reason: `a sigstore bundle is signed with another key than the trusted one (key hint ${hint})`,
      };
    return {
      outcome: 'not-genuine',
      reason: `a sigstore bundle does not verify with the key it names: ${(err as Error).message}`,
    };
  }
  return { outcome: 'ok', payloadType: envelope.payloadType, payload: Buffer.from(envelope.payload) };
}

/** Verifies a keyless bundle document and checks that it signs `digest`; on success, who signed. */
export function checkKeylessBundle(
  json: unknown,
  trust: KeylessTrust,
  digest: string,
): SignatureCheck & { signer?: KeylessSigner } {
  const envelope = verifyKeylessBundleEnvelope(json, trust);
  if (envelope.outcome !== 'ok') return envelope;
  const check = checkStatement(envelope.payloadType, envelope.payload, digest);
  return check.outcome === 'ok'
    ? {
        ...check,
        detail: `keyless sigstore bundle${signedBy(envelope.signer)}`,
        ...(envelope.signer ? { signer: envelope.signer } : {}),
      }
    : check;
}

/** Verifies a bundle document (parsed JSON) with `key` and checks that it signs `digest`. */
export function checkBundle(json: unknown, key: KeyObject, digest: string): SignatureCheck {
  const envelope = verifyBundleEnvelope(json, key);
  if (envelope.outcome !== 'ok') return envelope;
  return checkStatement(envelope.payloadType, envelope.payload, digest);
}
