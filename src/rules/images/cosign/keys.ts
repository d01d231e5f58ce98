// Raw signature checks for cosign's legacy format, for the key types compile-image.ts
// accepts. cosign signs with the hash its signer picks for the key: SHA-256 for P-256
// and RSA, SHA-384 for P-384 (SHA-256 is also tried there: keys imported into older
// cosign releases were used with SHA-256), and pure Ed25519. ECDSA signatures are
// ASN.1 DER, as cosign writes them.

import { createHash, verify, type KeyObject } from 'node:crypto';

function hashesFor(key: KeyObject): (string | null)[] {
  switch (key.asymmetricKeyType) {
    case 'ec':
      return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? ['sha384', 'sha256'] : ['sha256'];
    case 'rsa':
      return ['sha256'];
    case 'ed25519':
      return [null];
    default:
      return [];
  }
}

export function verifyRawSignature(key: KeyObject, data: Buffer, signature: Buffer): boolean {
  for (const hash of hashesFor(key)) {
    try {
      if (verify(hash, data, key, signature)) return true;
    } catch {
      // a malformed signature is a failed verification, not an exception
    }
  }
  return false;
}

/** What cosign writes as a sigstore bundle's `publicKey.hint`: base64 SHA-256 of the SPKI DER. */
export function keyHint(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('base64');
}
