// cosign's legacy format, keyless (pure): a `.sig` layer signed with a Fulcio
// certificate carries it in the annotation dev.sigstore.cosign/certificate (PEM), the
// chain in dev.sigstore.cosign/chain (not trusted: the chain comes from the trusted root)
// and Rekor's answer in dev.sigstore.cosign/bundle:
//   {"SignedEntryTimestamp":"<base64>","Payload":{"body":"<base64>","integratedTime":...,
//    "logIndex":...,"logID":"<hex>"}}
// That is a v0.1 sigstore bundle (a message signature over the payload, with an
// inclusion promise) in another dress: it is rewritten as one, so that @sigstore/verify
// checks both formats alike.

import { createHash } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, type SignedEntity } from '@sigstore/verify';
import { signedBy, verifyKeylessEntity, type KeylessSigner, type KeylessTrust } from './keyless.ts';
import { checkSimpleSigningPayload, type SignatureCheck } from './legacy.ts';
import type { EnvelopeCheck } from './bundle.ts';

export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const REKOR_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';

const V01 = 'application/vnd.dev.sigstore.bundle+json;version=0.1';

function pemToBase64(pem: string): string | undefined {
  const match = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  return match ? match[1]!.replace(/\s+/g, '') : undefined;
}

function tlogEntry(annotation: string): { entry: object } | { problem: string } {
  let doc: { SignedEntryTimestamp?: unknown; Payload?: Record<string, unknown> };
  try {
    doc = JSON.parse(annotation) as typeof doc;
  } catch {
    return { problem: `its ${REKOR_BUNDLE_ANNOTATION} annotation is not JSON` };
  }
  const p = doc?.Payload;
  const fields = [doc?.SignedEntryTimestamp, p?.body, p?.logID];
  if (
    fields.some((f) => typeof f !== 'string') ||
    typeof p?.integratedTime !== 'number' ||
    typeof p.logIndex !== 'number'
  )
    return { problem: `its ${REKOR_BUNDLE_ANNOTATION} annotation lacks SignedEntryTimestamp or Payload fields` };
  let kind: { kind?: unknown; apiVersion?: unknown };
  try {
    kind = JSON.parse(Buffer.from(p.body as string, 'base64').toString('utf8')) as typeof kind;
  } catch {
    return { problem: `its ${REKOR_BUNDLE_ANNOTATION} entry body is not JSON` };
  }
  const entry = {
    logIndex: String(p.logIndex),
    logId: { keyId: Buffer.from(p.logID as string, 'hex').toString('base64') },
    kindVersion: { kind: String(kind?.kind), version: String(kind?.apiVersion) },
    integratedTime: String(p.integratedTime),
    inclusionPromise: { signedEntryTimestamp: doc.SignedEntryTimestamp },
    canonicalizedBody: p.body,
  };
  return { entry };
}

/** What a legacy layer signed: a simple-signing payload (`.sig`), or a DSSE envelope (`.att`). */
export type LegacyContent =
  | { kind: 'message'; payload: Buffer; signature: string | undefined }
  | { kind: 'dsse'; envelope: { payloadType: string; payload: string; signatures: { sig: string }[] } };

function contentJson(content: LegacyContent): object | { problem: string } {
  if (content.kind === 'dsse') return { dsseEnvelope: content.envelope };
  if (!content.signature) return { problem: 'it has no signature annotation' };
  const digest = createHash('sha256').update(content.payload).digest('base64');
  return { messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest }, signature: content.signature } };
}

/**
 * The signed entity of a keyless legacy layer, or why there is none. Undefined when the
 * layer has no certificate: a key-based signature, judged by legacy.ts or attestation.ts.
 */
export function legacyKeylessEntity(
  content: LegacyContent,
  annotations: Readonly<Record<string, string>>,
): SignedEntity | { problem: string } | undefined {
  const pem = annotations[CERTIFICATE_ANNOTATION];
  if (!pem) return undefined;
  const leaf = pemToBase64(pem);
  if (!leaf) return { problem: `its ${CERTIFICATE_ANNOTATION} annotation holds no PEM certificate` };
  const signed = contentJson(content);
  if ('problem' in signed) return signed;
  const rekor = annotations[REKOR_BUNDLE_ANNOTATION];
  const logged = rekor ? tlogEntry(rekor) : undefined;
  if (logged && 'problem' in logged) return logged;
  try {
    const bundle = bundleFromJSON({
      mediaType: V01,
      verificationMaterial: {
        x509CertificateChain: { certificates: [{ rawBytes: leaf }] },
        tlogEntries: logged ? [logged.entry] : [],
        timestampVerificationData: { rfc3161Timestamps: [] },
      },
      ...signed,
    });
    return toSignedEntity(bundle, content.kind === 'message' ? content.payload : undefined);
  } catch (err) {
    return { problem: `it cannot be read as a keyless signature (${(err as Error).message})` };
  }
}

/** Checks one legacy layer keylessly: certificate, log entry, SCT, identity, then what the payload names. */
export function checkLegacyKeyless(
  candidate: { payload: Buffer; signature: string | undefined; annotations: Readonly<Record<string, string>> },
  trust: KeylessTrust,
  digest: string,
): SignatureCheck & { signer?: KeylessSigner } {
  const content = { kind: 'message' as const, payload: candidate.payload, signature: candidate.signature };
  const entity = legacyKeylessEntity(content, candidate.annotations);
  if (entity === undefined)
    return { outcome: 'untrusted-signer', reason: 'a legacy signature made with a key, not keylessly' };
  if ('problem' in entity) return { outcome: 'not-genuine', reason: `a keyless legacy signature: ${entity.problem}` };
  const checked = verifyKeylessEntity(entity, trust);
  if (checked.outcome !== 'ok') return { ...checked, reason: `a legacy signature ${checked.reason}` };
  const payload = checkSimpleSigningPayload(candidate.payload, digest);
  return payload.outcome === 'ok'
    ? { outcome: 'ok', detail: `keyless ${payload.detail}${signedBy(checked.signer)}`, signer: checked.signer }
    : payload;
}

/** Verifies a legacy attestation layer (a DSSE envelope, parsed JSON) keylessly: certificate, log entry, identity. */
export function verifyLegacyKeylessEnvelope(
  json: unknown,
  annotations: Readonly<Record<string, string>>,
  trust: KeylessTrust,
): EnvelopeCheck {
  const doc = json as { payloadType?: unknown; payload?: unknown; signatures?: unknown } | null;
  if (typeof doc?.payloadType !== 'string' || typeof doc.payload !== 'string' || !Array.isArray(doc.signatures))
    return { outcome: 'not-genuine', reason: 'a DSSE envelope is malformed (payloadType, payload, signatures)' };
  const envelope = {
    payloadType: doc.payloadType,
    payload: doc.payload,
    signatures: doc.signatures as { sig: string }[],
  };
  const entity = legacyKeylessEntity({ kind: 'dsse', envelope }, annotations);
  if (entity === undefined)
    return { outcome: 'untrusted-signer', reason: 'a DSSE envelope made with a key, not keylessly' };
  if ('problem' in entity) return { outcome: 'not-genuine', reason: `a keyless DSSE envelope: ${entity.problem}` };
  const checked = verifyKeylessEntity(entity, trust);
  if (checked.outcome !== 'ok') return { ...checked, reason: `a DSSE envelope ${checked.reason}` };
  return {
    outcome: 'ok',
    payloadType: doc.payloadType,
    payload: Buffer.from(doc.payload, 'base64'),
    signer: checked.signer,
  };
}
