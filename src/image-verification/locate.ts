// Finding an image digest's cosign signatures in its repository, in both formats, in
// parallel. Nothing here decides trust: it returns the candidate payloads (digest-checked
// by the registry client) for the key checks, or the registry failure per format.
//
//   legacy: GET manifest :sha256-<hex>.sig -> GET each simple-signing layer
//   bundle: GET referrers/<digest> (404: no API) and, when that holds no bundle, the
//           fallback index at :sha256-<hex> -> GET each candidate manifest (the
//           artifact type is read from the manifest: some registries report only the
//           config media type in their referrers index) -> GET its bundle layer

import type { BaseError } from '../errors.ts';
import { isBulwarkError } from '../errors.ts';
import type { RegistryAccess, RegistryClient } from '../registry/client.ts';
import { LIMITS } from '../registry/client.ts';
import { MediaTypes, artifactTypeOf, type Descriptor } from '../registry/manifest.ts';
import {
  BUNDLE_MEDIA_TYPE,
  DSSE_MEDIA_TYPE,
  legacyAttestationTag,
  referrersFallbackTag,
} from '../rules/images/cosign/names.ts';
import { legacySignatureLayers, legacySignatureTag } from '../rules/images/cosign/legacy.ts';

/** At most this many signatures of one format are fetched and checked per digest. */
export const MAX_CANDIDATES = 16;

export interface LegacyCandidate {
  payload: Buffer;
  signature: string | undefined;
  layerDigest: string;
  /** The layer's annotations: a keyless signature's certificate and Rekor bundle are there. */
  annotations: Readonly<Record<string, string>>;
}

export interface BundleCandidate {
  /** Parsed JSON, or undefined when the layer is not JSON (then `problem` says so). */
  json: unknown;
  problem?: string;
  manifestDigest: string;
  via: 'referrers API' | `tag ${string}`;
}

export type Lookup<T> = { ok: true; candidates: T[]; notes: string[] } | { ok: false; error: BaseError };

export interface FoundSignatures {
  legacy: Lookup<LegacyCandidate>;
  bundles: Lookup<BundleCandidate>;
}

export interface Where {
  client: RegistryClient;
  access: RegistryAccess;
  repository: string;
  digest: string;
  signal: AbortSignal;
}

async function settle<T>(work: Promise<Lookup<T>>): Promise<Lookup<T>> {
  try {
    return await work;
  } catch (err) {
    if (isBulwarkError(err)) return { ok: false, error: err };
    throw err;
  }
}

async function findLegacy(w: Where): Promise<Lookup<LegacyCandidate>> {
  const tag = legacySignatureTag(w.digest);
  const manifest = await w.client.getManifest(w.access, w.repository, tag, w.signal);
  if (!manifest) return { ok: true, candidates: [], notes: [`no tag ${tag}`] };
  if (manifest.kind !== 'image')
    return { ok: true, candidates: [], notes: [`tag ${tag} holds an index, not a signature manifest`] };
  const layers = legacySignatureLayers(manifest).slice(0, MAX_CANDIDATES);
  const candidates = await Promise.all(
    layers.map(async ({ layer, signature }) => {
      const payload = await w.client.getBlob(w.access, w.repository, layer.digest, w.signal, {
        maxBytes: LIMITS.signatureBlob,
      });
      return payload
        ? { payload, signature, layerDigest: layer.digest, annotations: layer.annotations ?? {} }
        : undefined;
    }),
  );
  const found = candidates.filter((c): c is LegacyCandidate => c !== undefined);
  const notes =
    layers.length === 0
      ? [`tag ${tag} has no simple-signing layer`]
      : found.length < layers.length
        ? [`${layers.length - found.length} signature layer(s) of tag ${tag} are missing from the registry`]
        : [];
  return { ok: true, candidates: found, notes };
}

/** Descriptors that may be sigstore bundles: typed as one, or untyped / typed only by the empty config. */
function maybeBundle(d: Descriptor): boolean {
  return (
    d.artifactType === undefined ||
    d.artifactType === '' ||
    d.artifactType === BUNDLE_MEDIA_TYPE ||
    d.artifactType === MediaTypes.ociEmpty
  );
}

async function bundlesFrom(
  w: Where,
  descriptors: readonly Descriptor[],
  via: BundleCandidate['via'],
): Promise<BundleCandidate[]> {
  const chosen = descriptors
    .filter(
      (d) => maybeBundle(d) && (d.mediaType === MediaTypes.ociManifest || d.mediaType === MediaTypes.dockerManifest),
    )
    .slice(0, MAX_CANDIDATES);
  const found = await Promise.all(
    chosen.map(async (d): Promise<BundleCandidate[]> => {
      const manifest = await w.client.getManifest(w.access, w.repository, d.digest, w.signal);
      if (manifest?.kind !== 'image' || artifactTypeOf(manifest) !== BUNDLE_MEDIA_TYPE) return [];
      const layer = manifest.layers.find((l) => l.mediaType === BUNDLE_MEDIA_TYPE);
      if (!layer)
        return [
          { json: undefined, problem: 'a sigstore bundle manifest has no bundle layer', manifestDigest: d.digest, via },
        ];
      const bytes = await w.client.getBlob(w.access, w.repository, layer.digest, w.signal, {
        maxBytes: LIMITS.signatureBlob,
      });
      if (!bytes)
        return [
          {
            json: undefined,
            problem: `the bundle layer ${layer.digest} is missing from the registry`,
            manifestDigest: d.digest,
            via,
          },
        ];
      try {
        return [{ json: JSON.parse(bytes.toString('utf8')), manifestDigest: d.digest, via }];
      } catch {
        return [{ json: undefined, problem: 'a sigstore bundle layer is not JSON', manifestDigest: d.digest, via }];
      }
    }),
  );
  return found.flat();
}

async function findBundles(w: Where): Promise<Lookup<BundleCandidate>> {
  const notes: string[] = [];
  const referrers = await w.client.getReferrers(w.access, w.repository, w.digest, w.signal);
  if (referrers.supported) {
    const found = await bundlesFrom(w, referrers.descriptors, 'referrers API');
    if (found.length > 0) return { ok: true, candidates: found, notes };
    notes.push('no sigstore bundle among the referrers');
  } else {
    notes.push('no referrers API');
  }
  // The tag cosign falls back to without a referrers API. Also read when the API exists
  // but holds no bundle: signatures pushed before the registry gained the API are there.
  const tag = referrersFallbackTag(w.digest);
  const index = await w.client.getManifest(w.access, w.repository, tag, w.signal);
  if (!index) {
    notes.push(`no tag ${tag}`);
    return { ok: true, candidates: [], notes };
  }
  if (index.kind !== 'index') {
    notes.push(`tag ${tag} is not an index`);
    return { ok: true, candidates: [], notes };
  }
  return { ok: true, candidates: await bundlesFrom(w, index.manifests, `tag ${tag}`), notes };
}

export interface EnvelopeCandidate {
  /** Parsed JSON, or undefined when the layer is not JSON (then `problem` says so). */
  json: unknown;
  /** The layer's annotations (a keyless envelope's certificate and Rekor bundle). */
  annotations: Readonly<Record<string, string>>;
  problem?: string;
  via: `tag ${string}`;
}

/** The DSSE envelopes of cosign's legacy attestation tag `sha256-<hex>.att`. */
export async function locateLegacyAttestations(w: Where): Promise<Lookup<EnvelopeCandidate>> {
  return await settle(
    (async (): Promise<Lookup<EnvelopeCandidate>> => {
      const tag = legacyAttestationTag(w.digest);
      const manifest = await w.client.getManifest(w.access, w.repository, tag, w.signal);
      if (manifest?.kind !== 'image') return { ok: true, candidates: [], notes: [`no tag ${tag}`] };
      const layers = manifest.layers.filter((l) => l.mediaType === DSSE_MEDIA_TYPE).slice(0, MAX_CANDIDATES);
      const candidates = await Promise.all(
        layers.map(async (layer): Promise<EnvelopeCandidate> => {
          const via = `tag ${tag}` as const;
          const annotations = layer.annotations ?? {};
          const bytes = await w.client.getBlob(w.access, w.repository, layer.digest, w.signal, {
            maxBytes: LIMITS.signatureBlob,
          });
          if (!bytes) return { json: undefined, problem: `the layer ${layer.digest} is missing`, via, annotations };
          try {
            return { json: JSON.parse(bytes.toString('utf8')), via, annotations };
          } catch {
            return { json: undefined, problem: 'a DSSE envelope layer is not JSON', via, annotations };
          }
        }),
      );
      return { ok: true, candidates, notes: [] };
    })(),
  );
}

export async function locateSignatures(w: Where): Promise<FoundSignatures> {
  const [legacy, bundles] = await Promise.all([settle(findLegacy(w)), settle(findBundles(w))]);
  return { legacy, bundles };
}
