// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) read as
// if it were a registry, so the verifier finds cosign signatures offline exactly as it
// does online (`bulwark test|check|review --oci-layout DIR`). What each tool writes:
//
// - `crane pull --format oci --annotate-ref`, `oras copy --to-oci-layout`, skopeo:
//   tags are `org.opencontainers.image.ref.name` annotations of index.json entries (a
//   bare tag, or a full reference `host/repo:tag`), so cosign's legacy `sha256-<hex>.sig`
//   tag is found by name.
// - `cosign save --dir`: entries annotated `kind: dev.cosignproject.cosign/image|sigs|atts`;
//   the sigs (atts) entry is the `.sig` (`.att`) tag of the image entry. It writes the
//   sigstore bundle's manifest as a blob that index.json does not list.
// - Referrers (the bundle format): every manifest in the layout whose `subject` is the
//   digest asked for: listed in index.json (or an index it lists) or only present as a
//   blob, as cosign save leaves it.
//
// A layout holds signatures by digest; repositories play no part in finding them (a
// signature names the digest it covers, and that is what is checked). An image's own tag
// (`web:v1`) is found only in its repository, or as a bare ref.name (`v1`). The layout is read and checked once:
// every blob small enough to be a manifest or a signature is hashed against its name, so
// a corrupt blob is an input error naming its path, never a quiet "unsigned". Larger
// blobs (image layers) are never read.

import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BaseError } from '../errors.ts';
import type { ReferrersResult, RegistryClient } from './client.ts';
import { LIMITS } from './client.ts';
import { artifactTypeOf, parseManifest, type Descriptor, type Manifest } from './manifest.ts';

const REF_NAME = 'org.opencontainers.image.ref.name';
const COSIGN_KIND = 'kind';
const COSIGN_TAG_SUFFIX: Readonly<Record<string, string>> = {
  'dev.cosignproject.cosign/sigs': '.sig',
  'dev.cosignproject.cosign/atts': '.att',
};
const HEX = /^[0-9a-f]{64}$/;

function invalid(dir: string, message: string): BaseError {
  return new BaseError('OCI_LAYOUT_INVALID', `OCI layout ${dir}: ${message}`);
}

/**
 * The keys a ref.name annotation is found under: `v1` -> `v1`; `host:5000/shop/web:v1` ->
 * `shop/web:v1`, and cosign's digest-bound tags (`sha256-<hex>.sig`, `.att`, the referrers
 * fallback `sha256-<hex>`) also bare: they name the digest, whatever the repository. A
 * digest reference (`…@sha256:…`) names no tag.
 */
export function tagKeysOfRefName(refName: string): string[] {
  if (refName.includes('@')) return [];
  const lastSlash = refName.lastIndexOf('/');
  const colon = refName.lastIndexOf(':');
  if (lastSlash < 0) return [refName]; // `v1`, or `web:v1` of a one-segment repository
  if (colon < lastSlash) return [];
  const tag = refName.slice(colon + 1);
  const segments = refName.slice(0, colon).split('/');
  const first = segments[0]!;
  const isHost = segments.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const repository = (isHost ? segments.slice(1) : segments).join('/');
  return tag.startsWith('sha256-') ? [tag, `${repository}:${tag}`] : [`${repository}:${tag}`];
}

/** The key a tag lookup uses: digest-bound tags bare, others with their repository. */
export const tagKey = (repository: string, tag: string) => (tag.startsWith('sha256-') ? tag : `${repository}:${tag}`);

/** Every small blob by digest, each hashed against its file name (a mismatch is an error naming the file). */
async function readBlobs(dir: string): Promise<Map<string, Buffer>> {
  const folder = join(dir, 'blobs', 'sha256');
  const names = await readdir(folder).catch((err: unknown) => {
    throw invalid(dir, `cannot read blobs/sha256: ${(err as Error).message}`);
  });
  const blobs = new Map<string, Buffer>();
  for (const name of names) {
    if (!HEX.test(name)) continue;
    const path = join(folder, name);
    if ((await stat(path)).size > LIMITS.manifest) continue;
    const bytes = await readFile(path);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== name)
      throw new BaseError(
        'OCI_LAYOUT_INVALID',
        `${path}: corrupt blob: its content has digest sha256:${actual}, not the sha256:${name} its name says`,
      );
    blobs.set(`sha256:${name}`, bytes);
  }
  return blobs;
}

function manifestOf(blobs: ReadonlyMap<string, Buffer>, digest: string): Manifest | undefined {
  const bytes = blobs.get(digest);
  if (bytes?.[0] !== 0x7b) return undefined; // manifests are JSON objects; skip layers at once
  const parsed = parseManifest(bytes!, digest);
  return 'manifest' in parsed ? parsed.manifest : undefined;
}

export interface OciLayoutIndex {
  /** Tag (see tagKey) -> manifest digest. */
  tags: ReadonlyMap<string, string>;
  /** Subject digest -> the manifests that refer to it. */
  referrers: ReadonlyMap<string, Descriptor[]>;
}

function indexLayout(dir: string, top: Manifest | undefined, blobs: ReadonlyMap<string, Buffer>): OciLayoutIndex {
  if (top?.kind !== 'index') throw invalid(dir, 'index.json is not an OCI image index');
  const tags = new Map<string, string>();
  const listed = top.manifests;
  const cosignImage = listed.find((d) => d.annotations?.[COSIGN_KIND] === 'dev.cosignproject.cosign/image');
  for (const d of listed) {
    const refName = d.annotations?.[REF_NAME];
    for (const key of refName === undefined ? [] : tagKeysOfRefName(refName)) tags.set(key, d.digest);
    const suffix = COSIGN_TAG_SUFFIX[d.annotations?.[COSIGN_KIND] ?? ''];
    if (suffix && cosignImage) tags.set(`${cosignImage.digest.replace(':', '-')}${suffix}`, d.digest);
  }
  const referrers = new Map<string, Descriptor[]>();
  for (const digest of blobs.keys()) {
    const manifest = manifestOf(blobs, digest);
    if (!manifest?.subject) continue;
    const artifactType = artifactTypeOf(manifest);
    const descriptor: Descriptor = {
      mediaType: manifest.mediaType,
      digest,
      size: manifest.bytes.length,
      ...(artifactType ? { artifactType } : {}),
      ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
    };
    referrers.set(manifest.subject.digest, [...(referrers.get(manifest.subject.digest) ?? []), descriptor]);
  }
  return { tags, referrers };
}

export interface OciLayoutClient extends RegistryClient {
  readonly dir: string;
  readonly index: OciLayoutIndex;
}

/** Reads and checks the layout at `dir`; an unusable layout is an OCI_LAYOUT_INVALID error. */
export async function openOciLayout(dir: string): Promise<OciLayoutClient> {
  const marker = await readFile(join(dir, 'oci-layout'), 'utf8').catch((err: unknown) => {
    throw invalid(dir, `not an OCI image layout (no oci-layout file: ${(err as Error).message})`);
  });
  try {
    if (typeof (JSON.parse(marker) as { imageLayoutVersion?: unknown }).imageLayoutVersion !== 'string')
      throw new Error('no imageLayoutVersion');
  } catch (err) {
    throw invalid(dir, `oci-layout is not usable: ${(err as Error).message}`);
  }
  const indexBytes = await readFile(join(dir, 'index.json')).catch((err: unknown) => {
    throw invalid(dir, `cannot read index.json: ${(err as Error).message}`);
  });
  const parsed = parseManifest(indexBytes, 'index.json');
  if ('problems' in parsed) throw invalid(dir, `index.json: ${parsed.problems.join('; ')}`);
  const blobs = await readBlobs(dir);
  const index = indexLayout(dir, parsed.manifest, blobs);
  let requestCount = 0;
  return {
    dir,
    index,
    get requestCount() {
      return requestCount;
    },
    async getManifest(_access, repository, reference) {
      requestCount++;
      if (reference.startsWith('sha256:')) return manifestOf(blobs, reference);
      const digest = index.tags.get(tagKey(repository, reference)) ?? index.tags.get(reference);
      return digest ? manifestOf(blobs, digest) : undefined;
    },
    async getBlob(_access, _repository, digest, _signal, options = {}) {
      requestCount++;
      const bytes = blobs.get(digest);
      return bytes && bytes.length <= (options.maxBytes ?? LIMITS.signatureBlob) ? bytes : undefined;
    },
    async getReferrers(_access, _repository, digest, _signal, options = {}): Promise<ReferrersResult> {
      requestCount++;
      const all = index.referrers.get(digest) ?? [];
      const wanted = options.artifactType;
      return { supported: true, descriptors: wanted ? all.filter((d) => d.artifactType === wanted) : all };
    },
    close() {},
  };
}
