// Keyless cosign signatures (pure): a signature made with a short-lived Fulcio
// certificate, checked offline against a trusted root (sigstore's trusted_root.json,
// turned into @sigstore/verify's trust material by the shell) by @sigstore/verify:
//   - the certificate chains to one of the root's certificate authorities at signing
//     time, the time the transparency log attests (its SET's integrated time);
//   - a transparency-log entry (Rekor) for this very signature, whose inclusion proof
//     (checkpoint signed by the log) or SET verifies with one of the root's log keys;
//   - an SCT embedded in the certificate, signed by one of the root's CT logs;
//   - then the identity: the certificate's OIDC issuer (Fulcio extension) and subject
//     (its email or URI SAN) must be one of the authority's identities.
// Both cosign formats reach here as a SignedEntity: a sigstore bundle as it is, a legacy
// `.sig` layer through legacy-bundle.ts.

import { Verifier, type SignedEntity, type TrustMaterial } from '@sigstore/verify';
import { identityMatches } from '../../../policy/compile-keyless.ts';
import type { CompiledIdentity } from '../../../policy/compiled.ts';
import type { SignatureCheck } from './legacy.ts';

export interface KeylessTrust {
  material: TrustMaterial;
  identities: readonly CompiledIdentity[];
  /** Where the trusted root came from, for messages. */
  rootName: string;
}

/** Who signed keylessly: the certificate's issuer and subject. */
export interface KeylessSigner {
  issuer: string;
  subject: string;
}

export type KeylessCheck = { outcome: 'ok'; signer: KeylessSigner } | Exclude<SignatureCheck, { outcome: 'ok' }>;

/** One transparency-log entry, one SCT and one signing time are required: the public-good instance's defaults. */
const OPTIONS = { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 } as const;

function causes(err: unknown): string {
  const messages: string[] = [];
  for (let e = err as { message?: unknown; cause?: unknown } | undefined; e && messages.length < 4; ) {
    if (typeof e.message === 'string') messages.push(e.message);
    e = e.cause as typeof e;
  }
  return messages.join(': ');
}

/** The failure of @sigstore/verify, said in terms of what a user configures. */
function explain(err: unknown, trust: KeylessTrust): string {
  const code = (err as { code?: unknown }).code;
  const why = causes(err);
  switch (code) {
    case 'CERTIFICATE_ERROR':
      return /SCT/.test(why)
        ? `its certificate's SCT does not verify with a CT log of the trusted root in ${trust.rootName} (${why})`
        : `its certificate does not chain to a certificate authority of the trusted root in ${trust.rootName} ` +
            `at signing time (${why})`;
    case 'TLOG_INCLUSION_PROMISE_ERROR':
    case 'TLOG_INCLUSION_PROOF_ERROR':
    case 'TLOG_MISSING_INCLUSION_ERROR':
      return `its transparency-log entry does not verify with a log of the trusted root in ${trust.rootName} (${why})`;
    case 'TLOG_BODY_ERROR':
      return `its transparency-log entry is for another signature (${why})`;
    case 'TIMESTAMP_ERROR':
      return `its signing time cannot be established: no signed entry timestamp (SET) from the log (${why})`;
    case 'SIGNATURE_ERROR':
      return `the signature does not verify with its certificate's key (${why})`;
    default:
      return why;
  }
}

/**
 * Verifies a keyless entity: its certificate, log entry, SCT and signature, then its
 * identity. What it signed (the digest) is the caller's to check on the verified content.
 * Reasons read after the name of what was checked ("a sigstore bundle ...").
 */
export function verifyKeylessEntity(entity: SignedEntity, trust: KeylessTrust): KeylessCheck {
  if (entity.key.$case !== 'certificate')
    return { outcome: 'untrusted-signer', reason: 'is signed with a key, not keylessly with a certificate' };
  if (entity.tlogEntries.length === 0)
    return {
      outcome: 'not-genuine',
      reason:
        'is keyless but has no transparency-log entry (no Rekor inclusion proof or SET): without one, when it ' +
        'was signed, and so whether its short-lived certificate was valid then, is unknown',
    };
  let signer: ReturnType<Verifier['verify']>;
  try {
    signer = new Verifier(trust.material, OPTIONS).verify(entity);
  } catch (err) {
    return { outcome: 'not-genuine', reason: `is keyless, but ${explain(err, trust)}` };
  }
  const issuer = signer.identity?.extensions?.issuer ?? '';
  const subject = signer.identity?.subjectAlternativeName ?? '';
  if (!identityMatches(trust.identities, issuer, subject))
    return {
      outcome: 'untrusted-signer',
      reason:
        `is signed keylessly by ${JSON.stringify(subject)} (issuer ${JSON.stringify(issuer)}), which is none of ` +
        `the trusted identities (${trust.identities.map((i) => i.text).join('; ')})`,
    };
  return { outcome: 'ok', signer: { issuer, subject } };
}

export { keylessSignerKey } from './names.ts';

/** ` signed by alice@example.com (issuer https://...)`, for details; empty without a signer. */
export function signedBy(signer: KeylessSigner | undefined): string {
  return signer ? ` signed by ${signer.subject} (issuer ${signer.issuer})` : '';
}
