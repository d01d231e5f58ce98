// The verifier against real registries and real cosign signatures: go-containerregistry's
// registry with the referrers API (oci-registry), `crane registry serve` and Debian's
// docker-registry (no referrers API: cosign's tag fallback), images pushed with crane,
// signatures made by cosign v3 in both formats. Forged cases (a signature copied to
// another digest, tampered bytes) are written into the registries over the plain
// distribution API.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompiledImagePolicy } from '../../../src/policy/compiled.ts';
import { createRegistryClient, type RegistryClient, type RequestEvent } from '../../../src/registry/client.ts';
import type { VerificationResult } from '../../../src/decision/facts.ts';
import { tagResolver } from '../../../src/image-verification/resolve-tag.ts';
import { createVerifier } from '../../../src/image-verification/verify.ts';
import {
  cosignSign,
  crane,
  generateKeyPair,
  getBlob,
  getManifestJson,
  pushIndex,
  pushRandomImage,
  putBlob,
  putManifest,
  registryTools,
  sha256Digest,
  signedByPolicy,
  startRegistry,
  type KeyPair,
  type RegistryKind,
  type RegistryTools,
  type TestRegistry,
} from '../../e2e/helpers/registry.ts';
import { joinedRegExp } from '../../helpers/regexp.ts';

const KINDS: RegistryKind[] = ['oci-registry', 'crane', 'docker-registry'];
const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

let tools: RegistryTools;
let dir: string;
let trusted: KeyPair;
let other: KeyPair;
const registries = {} as Record<RegistryKind, TestRegistry>;

interface Images {
  bundle: string;
  legacy: string;
  unsigned: string;
  otherBundle: string;
  otherLegacy: string;
}
const images = {} as Record<RegistryKind, Images>;

function hex(digest: string): string {
  return digest.slice('sha256:'.length);
}

function policy(spec: Record<string, unknown> = {}): CompiledImagePolicy {
  return signedByPolicy(trusted.publicKeyPem, spec);
}

async function verify(
  host: string,
  repository: string,
  digest: string,
  options: { policy?: CompiledImagePolicy; client?: RegistryClient; signal?: AbortSignal } = {},
): Promise<VerificationResult> {
  const client = options.client ?? createRegistryClient();
  try {
    const verifier = createVerifier({ registry: client });
    return await verifier(
      {
        image: { original: `${host}/${repository}@${digest}`, registry: host, repository, digest },
        policy: options.policy ?? policy(),
        pullSecrets: [],
      },
      options.signal ?? AbortSignal.timeout(10_000),
    );
  } finally {
    if (!options.client) client.close();
  }
}

/** Pushes a cosign-style bundle referrer (as cosign v3 writes it) with `subject`, carrying `bundle` bytes. */
async function pushBundleReferrer(
  host: string,
  repository: string,
  subject: { digest: string; size: number },
  bundle: Buffer,
): Promise<string> {
  const empty = Buffer.from('{}');
  await putBlob(host, repository, empty);
  const layer = await putBlob(host, repository, bundle);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: BUNDLE,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2, digest: sha256Digest(empty) },
      layers: [{ mediaType: BUNDLE, size: bundle.length, digest: layer }],
      subject: { mediaType: OCI_MANIFEST, size: subject.size, digest: subject.digest },
    }),
  );
  return await putManifest(host, repository, sha256Digest(manifest), manifest, OCI_MANIFEST);
}

async function manifestSize(host: string, repository: string, digest: string): Promise<number> {
  return Buffer.byteLength(await crane(tools, ['manifest', `${host}/${repository}@${digest}`]));
}

/** The bundle blob cosign stored for `digest` at the fallback tag (crane or docker-registry). */
async function fallbackBundle(host: string, repository: string, digest: string): Promise<Buffer> {
  const index = (await getManifestJson(tools, `${host}/${repository}:sha256-${hex(digest)}`)) as {
    manifests: { digest: string }[];
  };
  const manifest = (await getManifestJson(tools, `${host}/${repository}@${index.manifests[0]!.digest}`)) as {
    layers: { digest: string }[];
  };
  return await getBlob(tools, `${host}/${repository}@${manifest.layers[0]!.digest}`);
}

beforeAll(async () => {
  tools = await registryTools();
  dir = mkdtempSync(join(tmpdir(), 'bulwark-verify-'));
  const started = await Promise.all(KINDS.map((k) => startRegistry(k, tools, join(dir, k))));
  for (const r of started) registries[r.kind] = r;
  [trusted, other] = await Promise.all([
    generateKeyPair(tools, join(dir, 'trusted')),
    generateKeyPair(tools, join(dir, 'other')),
  ]);
  await Promise.all(
    KINDS.map(async (kind) => {
      const host = registries[kind].host;
      const push = (repo: string) => pushRandomImage(tools, `${host}/${repo}:v1`, join(dir, 'layers'));
      const set: Images = {
        bundle: await push('demo/bundle'),
        legacy: await push('demo/legacy'),
        unsigned: await push('demo/unsigned'),
        otherBundle: await push('demo/other-bundle'),
        otherLegacy: await push('demo/other-legacy'),
      };
      images[kind] = set;
      await cosignSign(tools, trusted, `${host}/demo/bundle@${set.bundle}`, 'bundle');
      await cosignSign(tools, trusted, `${host}/demo/legacy@${set.legacy}`, 'legacy');
      await cosignSign(tools, other, `${host}/demo/other-bundle@${set.otherBundle}`, 'bundle');
      await cosignSign(tools, other, `${host}/demo/other-legacy@${set.otherLegacy}`, 'legacy');
    }),
  );
}, 180_000);

afterAll(async () => {
  await Promise.all(Object.values(registries).map((r) => r.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(KINDS)('on %s', (kind) => {
  const host = () => registries[kind].host;

  it('admits a sigstore bundle signed with the trusted key', async () => {
    const result = await verify(host(), 'demo/bundle', images[kind].bundle);
    expect(result).toEqual({ ok: true, authority: 'release', detail: expect.stringContaining('sigstore bundle') });
    const via = kind === 'oci-registry' ? 'referrers API' : `tag sha256-${hex(images[kind].bundle)}`;
    expect(result.ok && result.detail).toContain(via);
  });

  it('admits a legacy signature signed with the trusted key', async () => {
    const result = await verify(host(), 'demo/legacy', images[kind].legacy);
    expect(result).toEqual({
      ok: true,
      authority: 'release',
      detail: expect.stringContaining(
        `cosign legacy signature of ${host()}/demo/legacy (tag sha256-${hex(images[kind].legacy)}.sig)`,
      ),
    });
  });

  it('calls an image without signatures unsigned', async () => {
    const result = await verify(host(), 'demo/unsigned', images[kind].unsigned);
    expect(result).toMatchObject({ ok: false, failure: 'unsigned' });
    expect(!result.ok && result.reason).toContain(`no tag sha256-${hex(images[kind].unsigned)}.sig`);
  });

  it(
    'calls a bundle by another key an untrusted signer (it names its key), a legacy one not genuine (it names ' +
      'none)',
    async () => {
      const bundle = await verify(host(), 'demo/other-bundle', images[kind].otherBundle);
      expect(bundle).toMatchObject({ ok: false, failure: 'untrusted-signer' });
      expect(!bundle.ok && bundle.reason).toMatch(
        /a sigstore bundle is signed with another key than the trusted one \(key hint /,
      );
      const legacy = await verify(host(), 'demo/other-legacy', images[kind].otherLegacy);
      expect(legacy).toMatchObject({
        ok: false,
        failure: 'not-genuine',
        reason: expect.stringContaining('a legacy signature does not verify with the key'),
      });
    },
  );
});

describe('tags', () => {
  it('resolves a tag to the digest the registry serves for it now; a tag it lacks is IMAGE_UNRESOLVED', async () => {
    const client = createRegistryClient();
    const resolve = tagResolver(client, undefined);
    const { host } = registries['oci-registry'];
    const ref = (tag: string) => ({
      original: `${host}/demo/unsigned:${tag}`,
      registry: host,
      repository: 'demo/unsigned',
      tag,
    });
    expect(await resolve(ref('v1'), policy(), [], AbortSignal.timeout(10_000))).toBe(images['oci-registry'].unsigned);
    await expect(resolve(ref('v9'), policy(), [], AbortSignal.timeout(10_000))).rejects.toMatchObject({
      code: 'IMAGE_UNRESOLVED',
      message: `${host}/demo/unsigned:v9 does not exist`,
    });
    client.close();
  });
});

describe('forged signatures', () => {
  it('a legacy signature re-pointed to another digest is wrong-digest', async () => {
    const { host } = registries['docker-registry'];
    const source = images['docker-registry'].legacy;
    const target = await pushRandomImage(tools, `${host}/demo/legacy:copied`, join(dir, 'layers'));
    const sig = await crane(tools, ['digest', `${host}/demo/legacy:sha256-${hex(source)}.sig`]);
    await crane(tools, ['tag', `${host}/demo/legacy@${sig}`, `sha256-${hex(target)}.sig`]);
    const result = await verify(host, 'demo/legacy', target);
    expect(result).toEqual({
      ok: false,
      failure: 'wrong-digest',
      reason: expect.stringContaining(`the signature is for ${source}, not ${target}`),
    });
  });

  it('a bundle re-pointed through the fallback tag is wrong-digest', async () => {
    const { host } = registries.crane;
    const source = images.crane.bundle;
    const target = await pushRandomImage(tools, `${host}/demo/bundle:copied`, join(dir, 'layers'));
    const index = await crane(tools, ['digest', `${host}/demo/bundle:sha256-${hex(source)}`]);
    await crane(tools, ['tag', `${host}/demo/bundle@${index}`, `sha256-${hex(target)}`]);
    const result = await verify(host, 'demo/bundle', target);
    expect(result).toEqual({
      ok: false,
      failure: 'wrong-digest',
      reason: expect.stringContaining(`the signature is for ${source}, not ${target}`),
    });
  });

  it('a bundle re-pointed as a referrer of another digest is wrong-digest', async () => {
    const { host } = registries['oci-registry'];
    const bundle = await fallbackBundle(registries.crane.host, 'demo/bundle', images.crane.bundle);
    const target = await pushRandomImage(tools, `${host}/demo/forged:v1`, join(dir, 'layers'));
    await pushBundleReferrer(
      host,
      'demo/forged',
      { digest: target, size: await manifestSize(host, 'demo/forged', target) },
      bundle,
    );
    const result = await verify(host, 'demo/forged', target);
    expect(result).toMatchObject({
      ok: false,
      failure: 'wrong-digest',
      reason: expect.stringContaining(`the signature is for ${images.crane.bundle}, not ${target} (referrers API)`),
    });
  });

  it('a legacy signature with flipped annotation bytes is not genuine', async () => {
    const { host } = registries['oci-registry'];
    const digest = await pushRandomImage(tools, `${host}/demo/tampered:v1`, join(dir, 'layers'));
    await cosignSign(tools, trusted, `${host}/demo/tampered@${digest}`, 'legacy');
    expect(await verify(host, 'demo/tampered', digest)).toMatchObject({ ok: true });
    const tag = `sha256-${hex(digest)}.sig`;
    const manifest = (await getManifestJson(tools, `${host}/demo/tampered:${tag}`)) as {
      layers: { annotations: Record<string, string> }[];
    };
    const annotations = manifest.layers[0]!.annotations;
    const signature = Buffer.from(annotations['dev.cosignproject.cosign/signature']!, 'base64');
    signature[signature.length - 5]! ^= 0xff;
    annotations['dev.cosignproject.cosign/signature'] = signature.toString('base64');
    await putManifest(host, 'demo/tampered', tag, Buffer.from(JSON.stringify(manifest)), OCI_MANIFEST);
    const result = await verify(host, 'demo/tampered', digest);
    expect(result).toEqual({
      ok: false,
      failure: 'not-genuine',
      reason:
        `a legacy signature does not verify with the key (altered, or made with another key: the legacy ` +
        `format does not name its key) (tag ${tag})`,
    });
  });

  it('a legacy payload swapped under its signature is not genuine', async () => {
    const { host } = registries['docker-registry'];
    const digest = await pushRandomImage(tools, `${host}/demo/swapped:v1`, join(dir, 'layers'));
    await cosignSign(tools, trusted, `${host}/demo/swapped@${digest}`, 'legacy');
    const tag = `sha256-${hex(digest)}.sig`;
    const manifest = (await getManifestJson(tools, `${host}/demo/swapped:${tag}`)) as {
      layers: { digest: string; size: number }[];
    };
    const payload = JSON.parse(
      (await getBlob(tools, `${host}/demo/swapped@${manifest.layers[0]!.digest}`)).toString(),
    ) as Record<string, unknown>;
    payload.optional = { note: 'edited after signing' };
    const edited = Buffer.from(JSON.stringify(payload));
    manifest.layers[0]!.digest = await putBlob(host, 'demo/swapped', edited);
    manifest.layers[0]!.size = edited.length;
    await putManifest(host, 'demo/swapped', tag, Buffer.from(JSON.stringify(manifest)), OCI_MANIFEST);
    expect(await verify(host, 'demo/swapped', digest)).toMatchObject({ ok: false, failure: 'not-genuine' });
  });

  it('a bundle with a flipped DSSE signature is not genuine (referrers and fallback tag)', async () => {
    const source = registries.crane.host;
    const bundle = JSON.parse((await fallbackBundle(source, 'demo/bundle', images.crane.bundle)).toString()) as {
      dsseEnvelope: { signatures: { sig: string }[] };
    };
    const sig = Buffer.from(bundle.dsseEnvelope.signatures[0]!.sig, 'base64');
    sig[sig.length - 3]! ^= 0x01;
    bundle.dsseEnvelope.signatures[0]!.sig = sig.toString('base64');
    const tampered = Buffer.from(JSON.stringify(bundle));
    // The same image under the same digest on the referrers registry, with the tampered bundle as its referrer.
    const { host } = registries['oci-registry'];
    await crane(tools, ['copy', `${source}/demo/bundle@${images.crane.bundle}`, `${host}/demo/tampered-bundle:v1`]);
    const size = await manifestSize(host, 'demo/tampered-bundle', images.crane.bundle);
    await pushBundleReferrer(host, 'demo/tampered-bundle', { digest: images.crane.bundle, size }, tampered);
    const viaReferrers = await verify(host, 'demo/tampered-bundle', images.crane.bundle);
    expect(viaReferrers).toMatchObject({
      ok: false,
      failure: 'not-genuine',
      reason: expect.stringMatching(
        /^a sigstore bundle does not verify with the key it names: signature verification failed \(referrers API\)/,
      ),
    });
    // And on docker-registry through a fallback index that lists it.
    const docker = registries['docker-registry'].host;
    await crane(tools, ['copy', `${source}/demo/bundle@${images.crane.bundle}`, `${docker}/demo/tampered-bundle:v1`]);
    const referrer = await pushBundleReferrer(
      docker,
      'demo/tampered-bundle',
      { digest: images.crane.bundle, size },
      tampered,
    );
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          {
            mediaType: OCI_MANIFEST,
            size: Buffer.byteLength(await crane(tools, ['manifest', `${docker}/demo/tampered-bundle@${referrer}`])),
            digest: referrer,
            artifactType: BUNDLE,
          },
        ],
      }),
    );
    await putManifest(docker, 'demo/tampered-bundle', `sha256-${hex(images.crane.bundle)}`, index, OCI_INDEX);
    const viaTag = await verify(docker, 'demo/tampered-bundle', images.crane.bundle);
    expect(viaTag).toMatchObject({
      ok: false,
      failure: 'not-genuine',
      reason: expect.stringContaining(`(tag sha256-${hex(images.crane.bundle)})`),
    });
  });
});

describe('authorities', () => {
  it('an approved digest is admitted without any registry request', async () => {
    const events: RequestEvent[] = [];
    const client = createRegistryClient({ onRequest: (e) => events.push(e) });
    const { host } = registries['oci-registry'];
    const unsigned = images['oci-registry'].unsigned;
    const p = policy({
      authorities: [
        { name: 'release', key: { publicKey: trusted.publicKeyPem } },
        { name: 'hotfixes', digests: [unsigned] },
      ],
    });
    expect(await verify(host, 'demo/unsigned', unsigned, { policy: p, client })).toEqual({
      ok: true,
      authority: 'hotfixes',
      detail: `${unsigned} is on its approved-digest list`,
    });
    expect(events).toEqual([]);
    expect(client.requestCount).toBe(0);
    client.close();
  });

  it('a digest-only policy denies other digests as unsigned, still without registry requests', async () => {
    const client = createRegistryClient();
    const p = policy({ authorities: [{ name: 'hotfixes', digests: [images.crane.bundle] }] });
    const result = await verify(registries.crane.host, 'demo/unsigned', images.crane.unsigned, { policy: p, client });
    expect(result).toEqual({
      ok: false,
      failure: 'unsigned',
      reason: `${images.crane.unsigned} is not on its approved-digest list`,
    });
    expect(client.requestCount).toBe(0);
  });

  it('any verifying authority admits; otherwise the most informative failure is reported for each', async () => {
    const { host } = registries['docker-registry'];
    const both = policy({
      authorities: [
        { name: 'other', key: { publicKey: other.publicKeyPem } },
        { name: 'release', key: { publicKey: trusted.publicKeyPem } },
      ],
    });
    expect(await verify(host, 'demo/bundle', images['docker-registry'].bundle, { policy: both })).toMatchObject({
      ok: true,
      authority: 'release',
    });
    const neither = policy({
      authorities: [
        { name: 'other', key: { publicKey: other.publicKeyPem } },
        { name: 'approved', digests: [images.crane.bundle] },
      ],
    });
    const result = await verify(host, 'demo/bundle', images['docker-registry'].bundle, { policy: neither });
    expect(result).toMatchObject({ ok: false, failure: 'untrusted-signer' });
    expect(!result.ok && result.reason).toMatch(
      joinedRegExp(
        /^authority "other": a sigstore bundle is signed with another key .*; authority "approved": /,
        /sha256:[0-9a-f]{64} is not on its approved-digest list$/,
      ),
    );
  });

  it('counts the registry requests of one cold verification per format', async () => {
    const { host } = registries['oci-registry'];
    const timings: string[] = [];
    const purposes: string[][] = [];
    for (const [repo, digest] of [
      ['demo/legacy', images['oci-registry'].legacy],
      ['demo/bundle', images['oci-registry'].bundle],
    ] as const) {
      const events: RequestEvent[] = [];
      const client = createRegistryClient({ onRequest: (e) => events.push(e) }); // cold: no connection, no token
      const started = performance.now();
      expect(await verify(host, repo, digest, { client })).toMatchObject({ ok: true });
      timings.push(`${repo} ${(performance.now() - started).toFixed(1)} ms, ${events.length} requests`);
      purposes.push(events.map((e) => e.purpose).sort());
      expect(client.requestCount).toBe(events.length);
      client.close();
    }
    // legacy: the .sig manifest and its layer; in parallel the referrers (none) and the fallback tag (absent).
    // bundle: the referrers, the referrer's manifest and its layer; in parallel the .sig tag (absent).
    expect(purposes).toEqual([
      ['blob', 'manifest', 'manifest', 'referrers'],
      ['blob', 'manifest', 'manifest', 'referrers'],
    ]);
    console.log(`cold verification on oci-registry: ${timings.join('; ')}`);
  });
});

describe('multi-arch', () => {
  // An index of two platform manifests: the index is signed (bundle) and one platform
  // manifest is signed (legacy). Each signature covers exactly the digest it names.
  it.each(['oci-registry', 'docker-registry'] as const)(
    'verifies the digest the pod names, never its parent or children (%s)',
    async (kind) => {
      const { host } = registries[kind];
      const layers = join(dir, 'layers');
      const amd64 = await pushRandomImage(tools, `${host}/demo/multi:amd64`, layers);
      const arm64 = await pushRandomImage(tools, `${host}/demo/multi:arm64`, layers);
      const index = await pushIndex(tools, `${host}/demo/multi:all`, [
        `${host}/demo/multi@${amd64}`,
        `${host}/demo/multi@${arm64}`,
      ]);
      const amd64Only = await pushIndex(tools, `${host}/demo/multi:amd64-only`, [`${host}/demo/multi@${amd64}`]);
      await cosignSign(tools, trusted, `${host}/demo/multi@${index}`, 'bundle');
      await cosignSign(tools, trusted, `${host}/demo/multi@${amd64}`, 'legacy');
      expect(await verify(host, 'demo/multi', index)).toMatchObject({
        ok: true,
        detail: expect.stringContaining('sigstore bundle'),
      });
      expect(await verify(host, 'demo/multi', amd64)).toMatchObject({
        ok: true,
        detail: expect.stringContaining('legacy'),
      });
      // The signed index does not cover its (unsigned) arm64 manifest...
      expect(await verify(host, 'demo/multi', arm64)).toMatchObject({ ok: false, failure: 'unsigned' });
      // ...and a signed platform manifest does not cover an unsigned index that lists it.
      expect(await verify(host, 'demo/multi', amd64Only)).toMatchObject({ ok: false, failure: 'unsigned' });
    },
  );
});
