// cosign attestations (pure): `cosign attest` signs an in-toto statement about an image
// digest in a DSSE envelope, kept as a sigstore bundle referrer (v3's default, found by
// the referrers API or its tag fallback, like signatures) or, in the legacy format, as a
// layer (media type application/vnd.dsse.envelope.v1+json) of the manifest at tag
// `sha256-<hex>.att`. Here: the legacy envelope's signature, and what a verified
// statement says (its predicate type, the digest it is about, its predicate).

import type { KeyObject } from 'node:crypto';
import { dsse } from '@sigstore/core';
import type { EnvelopeCheck } from './bundle.ts';
import { verifyRawSignature } from './keys.ts';
import { parseStatement, subjectProblem } from './statement.ts';

export { DSSE_MEDIA_TYPE, legacyAttestationTag } from './names.ts';

/** Verifies a legacy DSSE envelope (parsed JSON) with `key`: any of its signatures over the PAE. */
export function verifyDsseEnvelope(json: unknown, key: KeyObject): EnvelopeCheck {
  const doc = json as { payloadType?: unknown; payload?: unknown; signatures?: unknown } | null;
  if (typeof doc?.payloadType !== 'string' || typeof doc.payload !== 'string' || !Array.isArray(doc.signatures))
    return { outcome: 'not-genuine', reason: 'a DSSE envelope is malformed (payloadType, payload, signatures)' };
  const payload = Buffer.from(doc.payload, 'base64');
  const signed = dsse.preAuthEncoding(doc.payloadType, payload);
  const genuine = (doc.signatures as { sig?: unknown }[]).some(
    (s) => typeof s?.sig === 'string' && verifyRawSignature(key, signed, Buffer.from(s.sig, 'base64')),
  );
  // Like a legacy signature, the envelope does not name its key (cosign leaves keyid
  // empty): one made with another key cannot be told from an altered one.
  if (!genuine)
    return {
      outcome: 'not-genuine',
      reason: 'a DSSE envelope does not verify with the key (altered, or made with another key)',
    };
  return { outcome: 'ok', payloadType: doc.payloadType, payload };
}

export type AttestationCheck =
  | { outcome: 'ok'; predicate: unknown }
  | { outcome: 'other-type'; predicateType: string }
  | { outcome: 'wrong-digest'; reason: string };

/** What a verified envelope attests: `predicateType` about `digest`, and its predicate. */
export function checkAttestation(
  payloadType: string,
  payload: Buffer,
  digest: string,
  predicateType: string,
): AttestationCheck {
  const parsed = parseStatement(payloadType, payload);
  if ('problem' in parsed) return { outcome: 'wrong-digest', reason: parsed.problem };
  const { statement } = parsed;
  if (statement.predicateType !== predicateType)
    return { outcome: 'other-type', predicateType: String(statement.predicateType) };
  const problem = subjectProblem(statement, digest, 'attestation');
  return problem ? { outcome: 'wrong-digest', reason: problem } : { outcome: 'ok', predicate: statement.predicate };
}
