// cosign's legacy signature format, pure parts: which layers of the manifest at tag
// `sha256-<hex>.sig` are signatures, and whether one of them signs an image digest.
//
// A signature layer is a "simple signing" payload (media type
// application/vnd.dev.cosign.simplesigning.v1+json) whose annotation
// `dev.cosignproject.cosign/signature` is the base64 signature over the layer bytes:
//   {"critical":{"identity":{"docker-reference":"..."},
//                "image":{"docker-manifest-digest":"sha256:..."},
//                "type":"cosign container image signature"},"optional":...}
// cosign decodes this with Go's encoding/json, which matches keys case-insensitively;
// we do the same, and refuse a payload where two spellings of a key disagree.

import type { KeyObject } from 'node:crypto';
import type { Descriptor, ImageManifest } from '../../../registry/manifest.ts';
import { verifyRawSignature } from './keys.ts';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

/** `sha256:abc...` -> `sha256-abc....sig` */
export function legacySignatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

export interface LegacySignatureLayer {
  layer: Descriptor;
  /** The annotation's value (base64), or undefined when the layer has none. */
  signature: string | undefined;
}

/** The simple-signing layers of a `.sig` manifest. */
export function legacySignatureLayers(manifest: ImageManifest): LegacySignatureLayer[] {
  return manifest.layers
    .filter((l) => l.mediaType === SIMPLE_SIGNING_MEDIA_TYPE)
    .map((layer) => ({ layer, signature: layer.annotations?.[SIGNATURE_ANNOTATION] }));
}

/** The outcome of one signature against one key (see VerificationFailure for the failures). */
export type SignatureCheck =
  | { outcome: 'ok'; detail: string }
  | { outcome: 'not-genuine' | 'untrusted-signer' | 'wrong-digest'; reason: string };

type Lookup = { found: false } | { found: true; value: unknown } | { ambiguous: string };

/** A member of an object by Go's rules (case-insensitive), refusing conflicting spellings. */
function member(object: unknown, name: string): Lookup {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) return { found: false };
  const matches = Object.entries(object).filter(([k]) => k.toLowerCase() === name.toLowerCase());
  if (matches.length === 0) return { found: false };
  const first = JSON.stringify(matches[0]![1]);
  if (matches.some(([, v]) => JSON.stringify(v) !== first))
    return { ambiguous: `keys ${matches.map(([k]) => JSON.stringify(k)).join(' and ')} disagree` };
  return { found: true, value: matches[0]![1] };
}

function path(object: unknown, names: readonly string[]): Lookup {
  let current: Lookup = { found: true, value: object };
  for (const name of names) {
    if (!('found' in current) || !current.found) return current;
    current = member(current.value, name);
  }
  return current;
}

/** What a verified payload says, or why it does not name `digest`. */
export function checkSimpleSigningPayload(payload: Buffer, digest: string): SignatureCheck {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return { outcome: 'wrong-digest', reason: 'the signed payload is not JSON' };
  }
  const type = path(doc, ['critical', 'type']);
  const named = path(doc, ['critical', 'image', 'docker-manifest-digest']);
  for (const lookup of [type, named]) {
    if ('ambiguous' in lookup)
      return { outcome: 'wrong-digest', reason: `the signed payload is ambiguous: ${lookup.ambiguous}` };
  }
  if (!('found' in type) || !type.found || type.value !== COSIGN_SIGNATURE_TYPE) {
    return {
      outcome: 'wrong-digest',
      reason:
        `the signed payload is not a cosign container image signature ` +
        `(critical.type ${'found' in type && type.found ? JSON.stringify(type.value) : 'missing'})`,
    };
  }
  if (!('found' in named) || !named.found || typeof named.value !== 'string') {
    return { outcome: 'wrong-digest', reason: 'the signed payload names no critical.image.docker-manifest-digest' };
  }
  // Exact comparison, as cosign does: the payload must name this very digest.
  if (named.value !== digest)
    return { outcome: 'wrong-digest', reason: `the signature is for ${named.value}, not ${digest}` };
  const reference = path(doc, ['critical', 'identity', 'docker-reference']);
  const signedAs =
    'found' in reference && reference.found && typeof reference.value === 'string' ? ` of ${reference.value}` : '';
  return { outcome: 'ok', detail: `cosign legacy signature${signedAs}` };
}

/** Checks one layer: its signature against `key` first, then what the signed payload says. */
export function checkLegacySignature(
  payload: Buffer,
  signatureBase64: string | undefined,
  key: KeyObject,
  digest: string,
): SignatureCheck {
  if (!signatureBase64)
    return { outcome: 'not-genuine', reason: `a legacy signature layer has no ${SIGNATURE_ANNOTATION} annotation` };
  const signature = Buffer.from(signatureBase64, 'base64');
  if (signature.length === 0 || !/^[A-Za-z0-9+/=\s]+$/.test(signatureBase64)) {
    return { outcome: 'not-genuine', reason: 'a legacy signature annotation is not base64' };
  }
  // The legacy format does not name the signing key: a signature that does not verify
  // may be altered or made with another key, and nothing tells which. Like sigstore-js
  // when a bundle names no key, it is reported as not genuine.
  if (!verifyRawSignature(key, payload, signature)) {
    return {
      outcome: 'not-genuine',
      reason:
        'a legacy signature does not verify with the key (altered, or made with another key: the legacy format ' +
        'does not name its key)',
    };
  }
  return checkSimpleSigningPayload(payload, digest);
}
