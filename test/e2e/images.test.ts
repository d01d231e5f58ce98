// Image verification against the real apiserver, real registries (our oci-registry with
// the referrers API, Debian's docker-registry without it) and real cosign signatures in
// both formats: what kubectl users see when they apply pods and workloads.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import {
  cosignSign,
  crane,
  generateKeyPair,
  getManifestJson,
  pushIndex,
  pushRandomImage,
  putManifest,
  registryTools,
  startRegistry,
  type KeyPair,
  type RegistryTools,
  type TestRegistry,
} from './helpers/registry.ts';
import { joinedRegExp } from '../helpers/regexp.ts';
import { DENIED_BY_BULWARK } from './helpers/denied.ts';

let tools: RegistryTools;
let oci: TestRegistry;
let plain: TestRegistry;
let trusted: KeyPair;
let ns: string;
const images: Record<string, string> = {};
const work = mkdtempSync(join(tmpdir(), 'bulwark-e2e-images-'));

async function push(registry: TestRegistry, repo: string): Promise<string> {
  const digest = await pushRandomImage(tools, `${registry.host}/${repo}:latest`, join(work, 'layers'));
  return `${registry.host}/${repo}@${digest}`;
}

const pod = (name: string, image: string) =>
  stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns },
    spec: { containers: [{ name: 'app', image }] },
  });
const apply = (manifest: string, user: 'alice' | 'admin' = 'alice') =>
  kubectl(['apply', '-f', '-'], { input: manifest, user });

beforeAll(async () => {
  tools = await registryTools();
  [oci, plain] = await Promise.all([
    startRegistry('oci-registry', tools, join(work, 'oci')),
    startRegistry('docker-registry', tools, join(work, 'docker')),
  ]);
  trusted = await generateKeyPair(tools, join(work, 'trusted'));
  const other = await generateKeyPair(tools, join(work, 'other'));

  images.bundle = await push(oci, 'signed/bundle');
  await cosignSign(tools, trusted, images.bundle, 'bundle');
  images.legacy = await push(plain, 'signed/legacy');
  await cosignSign(tools, trusted, images.legacy, 'legacy');
  images.fallback = await push(plain, 'signed/fallback');
  await cosignSign(tools, trusted, images.fallback, 'bundle');
  images.unsigned = await push(oci, 'signed/unsigned');
  images.otherKey = await push(oci, 'signed/other');
  await cosignSign(tools, other, images.otherKey, 'bundle');

  // A legacy signature of `legacy` re-pointed at another digest: made for a different digest.
  images.repointed = await push(plain, 'signed/legacy');
  const sigTag = (ref: string) => `${ref.split('@')[0]}:${ref.split('@')[1]!.replace(':', '-')}.sig`;
  await crane(tools, ['copy', sigTag(images.legacy), sigTag(images.repointed)]);
  // A legacy signature whose signature bytes were tampered with.
  images.tampered = await push(plain, 'signed/tampered');
  await cosignSign(tools, trusted, images.tampered, 'legacy');
  const manifest = await getManifestJson(tools, sigTag(images.tampered));
  const layer = (manifest.layers as { annotations: Record<string, string> }[])[0]!;
  const sig = layer.annotations['dev.cosignproject.cosign/signature']!;
  layer.annotations['dev.cosignproject.cosign/signature'] =
    `${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
  await putManifest(
    plain.host,
    'signed/tampered',
    sigTag(images.tampered).split(':').pop()!,
    Buffer.from(JSON.stringify(manifest)),
    String(manifest.mediaType),
  );

  // Multi-arch: two platform images and an index of them; only the index is signed.
  const amd = await push(oci, 'signed/multi');
  const arm = await push(oci, 'signed/multi');
  const indexDigest = await pushIndex(tools, `${oci.host}/signed/multi:index`, [amd, arm]);
  images.index = `${oci.host}/signed/multi@${indexDigest}`;
  images.platform = amd;
  await cosignSign(tools, trusted, images.index, 'bundle');

  images.approved = await push(oci, 'approved/tool');
  images.notApproved = await push(oci, 'approved/tool');

  ns = await newNamespace('img');
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: [
      stringify({
        apiVersion: 'bulwark.dev/v1alpha1',
        kind: 'ImagePolicy',
        metadata: { name: `signed-${ns}` },
        spec: {
          images: [`${oci.host}/signed/**`, `${plain.host}/**`, '127.0.0.1:9/**'],
          match: { namespaces: [ns] },
          authorities: [{ name: 'release-key', key: { publicKey: trusted.publicKeyPem } }],
          registry: { insecure: true },
        },
      }),
      stringify({
        apiVersion: 'bulwark.dev/v1alpha1',
        kind: 'ImagePolicy',
        metadata: { name: `approved-${ns}` },
        spec: {
          images: [`${oci.host}/approved/**`],
          match: { namespaces: [ns] },
          authorities: [{ name: 'change-board', digests: [images.approved.split('@')[1]] }],
        },
      }),
    ].join('---\n'),
  });
  // In force once a signed pod is admitted (policies reach the webhook within a second).
  const deadline = Date.now() + 15_000;
  while ((await apply(pod('probe', images.unsigned))).code === 0 && Date.now() < deadline)
    await kubectl(['delete', 'pod', 'probe', '-n', ns, '--wait=false']);
}, 240_000);

afterAll(async () => {
  await kubectl(['delete', 'imagepolicy', `signed-${ns}`, `approved-${ns}`, '--ignore-not-found']);
  await Promise.all([oci?.stop(), plain?.stop()]);
});

describe('signed digests are admitted', () => {
  it.each([
    ['a Pod, sigstore bundle found through the referrers API', 'bundle'],
    ['a Pod, legacy .sig signature', 'legacy'],
    ['a Pod, bundle found through the tag fallback (registry without referrers)', 'fallback'],
    ['a Pod naming the signed multi-arch index', 'index'],
  ])('%s', async (_name, key) => {
    const r = await apply(pod(`ok-${key.toLowerCase()}`, images[key]!));
    expect(r.code, r.stderr).toBe(0);
  });

  it('a Deployment and a CronJob', async () => {
    const template = {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: images.legacy }], restartPolicy: 'OnFailure' },
    };
    const deployment = stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: ns },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { ...template, spec: { containers: template.spec.containers } },
      },
    });
    const cronJob = stringify({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace: ns },
      spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template } } },
    });
    for (const manifest of [deployment, cronJob]) {
      const r = await apply(manifest);
      expect(r.code, r.stderr).toBe(0);
    }
  });
});

describe('everything else is denied with a precise message', () => {
  it.each([
    [
      'unsigned',
      () => images.unsigned!,
      joinedRegExp(
        /has no cosign signature and is not on an approved-digest list \(ImagePolicy signed-.*\): /,
        /no cosign signature for sha256:/,
      ),
    ],
    [
      'signed with another key',
      () => images.otherKey!,
      joinedRegExp(
        /is signed, but by a key the policy does not trust \(ImagePolicy signed-.*\): a sigstore /,
        /bundle is signed with another key/,
      ),
    ],
    [
      'a signature made for another digest',
      () => images.repointed!,
      /has a signature that was made for a different digest/,
    ],
    [
      'a tampered signature',
      () => images.tampered!,
      /has a signature that is not genuine: it does not verify with the trusted key/,
    ],
    [
      'a platform manifest of a multi-arch index that only the index signed',
      () => images.platform!,
      /has no cosign signature/,
    ],
    [
      'an image on a registry that is down',
      () => `127.0.0.1:9/app@sha256:${'1'.repeat(64)}`,
      /could not be verified: the registry failed/,
    ],
  ])('%s', async (name, image, message) => {
    const r = await apply(pod(`bad-${name.replace(/[^a-z]/g, '').slice(0, 20)}`, image()));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(DENIED_BY_BULWARK);
    expect(r.stderr).toContain(`image "${image()}" (spec.containers[0].image)`);
    expect(r.stderr).toMatch(message);
  });

  it('a tag without digest, showing the digest to pin', async () => {
    const tagged = `${oci.host}/signed/bundle:latest`;
    const r = await apply(pod('tag-only', tagged));
    expect(r.stderr).toContain(
      `image "${tagged}" (spec.containers[0].image) is not pinned by digest, which ImagePolicy ` +
        `signed-${ns} requires: pin it by digest: ${images.bundle} (where the tag points now)`,
    );
  });

  it('a Deployment whose update brings an unsigned image', async () => {
    const r = await kubectl(['set', 'image', 'deployment/web', `web=${images.unsigned}`, '-n', ns], { user: 'alice' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('(spec.template.spec.containers[0].image) has no cosign signature');
  });

  it('kubectl debug with an unsigned image', async () => {
    const r = await kubectl(
      ['debug', 'ok-bundle', '-n', ns, `--image=${images.unsigned}`, '--attach=false', '-c', 'debugger'],
      { user: 'alice' },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('(spec.ephemeralContainers[0].image) has no cosign signature');
    const ok = await kubectl(
      ['debug', 'ok-bundle', '-n', ns, `--image=${images.bundle}`, '--attach=false', '-c', 'debugger2'],
      { user: 'alice' },
    );
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('an image no policy matches, where policies deny unmatched images', async () => {
    const r = await apply(pod('unmatched', `${oci.host}/elsewhere/app@sha256:${'2'.repeat(64)}`));
    expect(r.stderr).toMatch(/matches no ImagePolicy, and .* deny unmatched images in namespace/);
  });
});

describe('an approved-digest list', () => {
  it('admits exactly its digests', async () => {
    expect((await apply(pod('approved', images.approved!))).code).toBe(0);
    const r = await apply(pod('not-approved', images.notApproved!));
    expect(r.stderr).toMatch(
      /is not on an approved-digest list|has no cosign signature and is not on an approved-digest list/,
    );
  });
});

describe('namespaces without an ImagePolicy', () => {
  it('are not checked', async () => {
    const free = await newNamespace('img-free');
    const r = await kubectl(['run', 'any', '-n', free, '--image=docker.io/library/nginx:1.27'], { user: 'alice' });
    expect(r.code, r.stderr).toBe(0);
  });
});
