// How one authority of an ImagePolicy judges what was found in the registry, whichever
// cosign format: signatures (legacy `.sig` layers and sigstore bundles) and attestation
// envelopes (bundles and legacy `.att` layers). A key authority checks with its key; a
// keyless one against its trusted root and identities (rules/images/cosign/keyless.ts).

import type { KeyObject } from 'node:crypto';
import { verifyDsseEnvelope } from '../rules/images/cosign/attestation.ts';
import {
  checkBundle,
  checkKeylessBundle,
  verifyBundleEnvelope,
  verifyKeylessBundleEnvelope,
  type EnvelopeCheck,
} from '../rules/images/cosign/bundle.ts';
import type { KeylessSigner, KeylessTrust } from '../rules/images/cosign/keyless.ts';
import {
  CERTIFICATE_ANNOTATION,
  checkLegacyKeyless,
  verifyLegacyKeylessEnvelope,
} from '../rules/images/cosign/legacy-bundle.ts';
import { checkLegacySignature, type SignatureCheck } from '../rules/images/cosign/legacy.ts';
import type { LegacyCandidate } from './locate.ts';

type Annotations = Readonly<Record<string, string>>;

export interface SignatureJudge {
  /** A legacy `.sig` layer: does it sign the digest? */
  legacy(candidate: LegacyCandidate): SignatureCheck & { signer?: KeylessSigner };
  /** A sigstore bundle (parsed JSON): does it sign the digest? */
  bundle(json: unknown): SignatureCheck & { signer?: KeylessSigner };
  /** A bundle's envelope, verified: what it says is the attestation's to check. */
  bundleEnvelope(json: unknown): EnvelopeCheck;
  /** A legacy `.att` layer's DSSE envelope, verified. */
  dsseEnvelope(json: unknown, annotations: Annotations): EnvelopeCheck;
}

export function keyJudge(key: KeyObject, digest: string): SignatureJudge {
  return {
    legacy: (c) => {
      const check = checkLegacySignature(c.payload, c.signature, key, digest);
      // A layer with a certificate names its signer after all: not this key is another signer.
      return check.outcome === 'not-genuine' && c.annotations[CERTIFICATE_ANNOTATION]
        ? {
            outcome: 'untrusted-signer',
            reason: 'a legacy signature is keyless (it carries a certificate), not made with this key',
          }
        : check;
    },
    bundle: (json) => checkBundle(json, key, digest),
    bundleEnvelope: (json) => verifyBundleEnvelope(json, key),
    dsseEnvelope: (json) => verifyDsseEnvelope(json, key),
  };
}

export function keylessJudge(trust: KeylessTrust, digest: string): SignatureJudge {
  return {
    legacy: (c) => checkLegacyKeyless(c, trust, digest),
    bundle: (json) => checkKeylessBundle(json, trust, digest),
    bundleEnvelope: (json) => verifyKeylessBundleEnvelope(json, trust),
    dsseEnvelope: (json, annotations) => verifyLegacyKeylessEnvelope(json, annotations, trust),
  };
}
