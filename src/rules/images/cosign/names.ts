// Names and tags of cosign's formats, and signer keys: what locating signatures and
// counting signers need, without the sigstore libraries that checking them loads (those
// load at the first verification: issue 19).

import type { KeylessSigner } from './keyless.ts';

export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

/**
 * `sha256:abc...` -> `sha256-abc...`: where cosign keeps an OCI index of referrers when the registry has no referrers
 * API.
 */
export function referrersFallbackTag(digest: string): string {
  return digest.replace(':', '-');
}

/** `sha256:abc...` -> `sha256-abc....att` */
export function legacyAttestationTag(digest: string): string {
  return `${digest.replace(':', '-')}.att`;
}

/** The signer's identity as one string: each signer counts once, whichever format or authority. */
export function keylessSignerKey(signer: KeylessSigner): string {
  return `keyless:${signer.issuer}\u0000${signer.subject}`;
}
