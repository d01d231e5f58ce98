// OCI / Docker manifest shapes and their validation. A registry's answer is untrusted
// input: everything the verifier reads is checked here first, with the field that was
// wrong, so "garbage from the registry" becomes one clear error instead of a TypeError.

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

/** What a manifest GET accepts: both image and index forms, OCI and Docker. */
export const MANIFEST_ACCEPT = [
  MediaTypes.ociManifest,
  MediaTypes.ociIndex,
  MediaTypes.dockerManifest,
  MediaTypes.dockerManifestList,
].join(', ');

const INDEX_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociIndex, MediaTypes.dockerManifestList]);
const IMAGE_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociManifest, MediaTypes.dockerManifest]);

export const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Readonly<Record<string, string>>;
  platform?: { os?: string; architecture?: string; variant?: string };
}

interface ManifestBase {
  mediaType: string;
  /** sha256 of the exact bytes received. */
  digest: string;
  /** The bytes received, for callers that need them (e.g. re-hashing, fixtures). */
  bytes: Buffer;
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Readonly<Record<string, string>>;
}

export interface ImageManifest extends ManifestBase {
  kind: 'image';
  config: Descriptor;
  layers: readonly Descriptor[];
}

export interface ImageIndex extends ManifestBase {
  kind: 'index';
  manifests: readonly Descriptor[];
}

export type Manifest = ImageManifest | ImageIndex;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, at: string, problems: string[]): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    problems.push(`${at} is not a map of strings`);
    return undefined;
  }
  return v as Record<string, string>;
}

export function parseDescriptor(v: unknown, at: string, problems: string[]): Descriptor | undefined {
  if (!isRecord(v)) {
    problems.push(`${at} is not an object`);
    return undefined;
  }
  const before = problems.length;
  if (typeof v.mediaType !== 'string' || v.mediaType === '') problems.push(`${at}.mediaType is missing`);
  if (typeof v.digest !== 'string' || !SHA256_DIGEST.test(v.digest))
    problems.push(`${at}.digest is not sha256:<64 hex>`);
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0)
    problems.push(`${at}.size is not a non-negative integer`);
  if (v.artifactType !== undefined && typeof v.artifactType !== 'string')
    problems.push(`${at}.artifactType is not a string`);
  const annotations = stringMap(v.annotations, `${at}.annotations`, problems);
  if (problems.length > before) return undefined;
  const d: Descriptor = { mediaType: v.mediaType as string, digest: v.digest as string, size: v.size as number };
  if (typeof v.artifactType === 'string') d.artifactType = v.artifactType;
  if (annotations) d.annotations = annotations;
  if (isRecord(v.platform)) d.platform = v.platform as Descriptor['platform'] & object;
  return d;
}

function descriptors(v: unknown, at: string, problems: string[]): Descriptor[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    problems.push(`${at} is not an array`);
    return [];
  }
  return v.flatMap((d, i) => parseDescriptor(d, `${at}[${i}]`, problems) ?? []);
}

/**
 * Parses manifest bytes. `contentType` is the response's Content-Type, used when the
 * document itself carries no mediaType (allowed for OCI). Returns the problems instead
 * of throwing so the client can name the registry and the request in its error.
 */
export function parseManifest(
  bytes: Buffer,
  digest: string,
  contentType?: string,
): { manifest: Manifest } | { problems: string[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return { problems: [`not JSON (${(err as Error).message})`] };
  }
  if (!isRecord(doc)) return { problems: ['not a JSON object'] };
  const problems: string[] = [];
  if (doc.schemaVersion !== 2) problems.push(`schemaVersion is ${JSON.stringify(doc.schemaVersion)}, expected 2`);
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const headerType = contentType?.split(';')[0]?.trim();
  // The document's own mediaType wins; without one, the shape decides (OCI allows omitting it).
  const mediaType =
    declared ??
    (headerType && (INDEX_TYPES.has(headerType) || IMAGE_TYPES.has(headerType))
      ? headerType
      : Array.isArray(doc.manifests)
        ? MediaTypes.ociIndex
        : MediaTypes.ociManifest);
  const base = {
    mediaType,
    digest,
    bytes,
    ...(typeof doc.artifactType === 'string' ? { artifactType: doc.artifactType } : {}),
  };
  const annotations = stringMap(doc.annotations, 'annotations', problems);
  const subject = doc.subject === undefined ? undefined : parseDescriptor(doc.subject, 'subject', problems);
  if (INDEX_TYPES.has(mediaType)) {
    const manifests = descriptors(doc.manifests, 'manifests', problems);
    if (problems.length > 0) return { problems };
    return {
      manifest: {
        kind: 'index',
        ...base,
        manifests,
        ...(subject ? { subject } : {}),
        ...(annotations ? { annotations } : {}),
      },
    };
  }
  if (IMAGE_TYPES.has(mediaType)) {
    const config = parseDescriptor(doc.config, 'config', problems);
    const layers = descriptors(doc.layers, 'layers', problems);
    if (problems.length > 0 || !config) return { problems };
    return {
      manifest: {
        kind: 'image',
        ...base,
        config,
        layers,
        ...(subject ? { subject } : {}),
        ...(annotations ? { annotations } : {}),
      },
    };
  }
  return { problems: [`unsupported manifest media type ${JSON.stringify(mediaType)}`] };
}

/**
 * The artifact type of an OCI artifact manifest, as the image-spec defines it: the
 * manifest's `artifactType`, else its config media type. (Some registries report only
 * the latter in their referrers index, which is why callers read the manifest itself.)
 */
export function artifactTypeOf(manifest: Manifest): string | undefined {
  if (manifest.artifactType) return manifest.artifactType;
  return manifest.kind === 'image' ? manifest.config.mediaType : undefined;
}
