// `bulwark test --oci-layout DIR`: image signatures read offline from an OCI image
// layout. The layouts are made for real: images pushed with crane to a registry with the
// referrers API, signed by the real cosign v3 in both formats, then copied out with
// `cosign save --dir` (legacy signatures as cosign's `kind` entries, the bundle's
// manifest as an unlisted blob) and with `crane pull --format oci --annotate-ref` (tags
// as `org.opencontainers.image.ref.name`, the bundle as a referrer with `subject`). The
// registry is stopped before Bulwark runs: nothing is fetched online.

import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.ts';
import {
  cosignSign,
  crane,
  generateKeyPair,
  pushRandomImage,
  registryTools,
  startRegistry,
  type KeyPair,
  type RegistryTools,
  type TestRegistry,
} from '../../e2e/helpers/registry.ts';
import { run } from '../../helpers/run-cli.ts';

const exec = promisify(execFile);

let tools: RegistryTools;
let dir: string;
let registry: TestRegistry;
let trusted: KeyPair;
const images = { bundle: '', legacy: '', wrongkey: '', unsigned: '' };
const layouts = { saved: '', pulled: '', all: '' };

const ref = (name: keyof typeof images) => `${registry.host}/shop/${name}@${images[name]}`;

async function referrersOf(repository: string, digest: string): Promise<string[]> {
  const res = await fetch(`http://${registry.host}/v2/${repository}/referrers/${digest}`);
  return ((await res.json()) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest);
}

/** `crane pull --format oci` of each image, its legacy .sig tag (if any) and its referrers, into one layout. */
async function pullLayout(into: string, names: (keyof typeof images)[]): Promise<void> {
  const refs: string[] = [];
  for (const name of names) {
    refs.push(ref(name));
    const tags = (await crane(tools, ['ls', `${registry.host}/shop/${name}`])).split('\n');
    const sig = `${images[name].replace(':', '-')}.sig`;
    if (tags.includes(sig)) refs.push(`${registry.host}/shop/${name}:${sig}`);
    for (const d of await referrersOf(`shop/${name}`, images[name])) refs.push(`${registry.host}/shop/${name}@${d}`);
  }
  await crane(tools, ['pull', '--format', 'oci', '--annotate-ref', ...refs, into]);
}

function suite(file: string, cases: { name: string; image: string; allowed: boolean; reason?: string }[]) {
  const policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    JSON.stringify({
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'ImagePolicy',
      metadata: { name: 'shop-signed' },
      spec: {
        images: [`${registry.host}/shop/**`],
        authorities: [{ name: 'release', key: { publicKey: trusted.publicKeyPem } }],
        registry: { insecure: true },
      },
    }),
  );
  const pod = (image: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { containers: [{ name: 'web', image }] },
  });
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'cli.bulwark.dev/v1alpha1',
      kind: 'PolicyTest',
      policies: [policy],
      cases: cases.map((c) => ({
        name: c.name,
        new: pod(c.image),
        expect: { allowed: c.allowed, ...(c.reason ? { reason: c.reason } : {}) },
      })),
    }),
  );
  return file;
}

beforeAll(async () => {
  tools = await registryTools();
  dir = mkdtempSync(join(tmpdir(), 'bulwark-oci-layout-'));
  registry = await startRegistry('oci-registry', tools, join(dir, 'registry'));
  trusted = await generateKeyPair(tools, join(dir, 'trusted'));
  const other = await generateKeyPair(tools, join(dir, 'other'));
  for (const name of Object.keys(images) as (keyof typeof images)[])
    images[name] = await pushRandomImage(tools, `${registry.host}/shop/${name}:v1`, join(dir, 'layers'));
  await cosignSign(tools, trusted, ref('bundle'), 'bundle');
  await cosignSign(tools, trusted, ref('legacy'), 'legacy');
  await cosignSign(tools, other, ref('wrongkey'), 'bundle');
  await cosignSign(tools, other, ref('wrongkey'), 'legacy');
  layouts.saved = join(dir, 'saved');
  await exec(tools.cosign, [
    'save',
    '--allow-http-registry',
    '--allow-insecure-registry',
    '--dir',
    layouts.saved,
    ref('bundle'),
  ]);
  layouts.pulled = join(dir, 'pulled');
  await pullLayout(layouts.pulled, ['legacy']);
  layouts.all = join(dir, 'all');
  await pullLayout(layouts.all, ['bundle', 'legacy', 'wrongkey', 'unsigned']);
  await registry.stop(); // from here on, signatures come from the layouts alone
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('bulwark test --oci-layout', () => {
  it('admits a sigstore bundle from `cosign save --dir` (the bundle manifest is an unlisted blob there)', async () => {
    const file = suite(join(dir, 'saved.bulwark-test.yaml'), [
      { name: 'bundle-signed', image: ref('bundle'), allowed: true },
      { name: 'not in the layout', image: ref('legacy'), allowed: false, reason: 'no cosign signature' },
    ]);
    const r = await run(main, ['test', '--oci-layout', layouts.saved, file]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('2 passed, 0 failed');
    expect(r.code).toBe(0);
  });

  it('admits a legacy .sig signature from `crane pull --format oci` (ref.name annotations)', async () => {
    const file = suite(join(dir, 'pulled.bulwark-test.yaml'), [
      { name: 'legacy-signed', image: ref('legacy'), allowed: true },
    ]);
    const r = await run(main, ['test', '--oci-layout', layouts.pulled, file]);
    expect(r.stdout).toContain('1 passed, 0 failed');
    expect(r.code).toBe(0);
  });

  it('denies a wrong key and a missing signature with clear reasons; exit 1 when expected otherwise', async () => {
    const file = suite(join(dir, 'all.bulwark-test.yaml'), [
      { name: 'bundle', image: ref('bundle'), allowed: true },
      { name: 'legacy', image: ref('legacy'), allowed: true },
      { name: 'wrong key', image: ref('wrongkey'), allowed: false, reason: 'does not verify with the trusted key' },
      {
        name: 'unsigned',
        image: ref('unsigned'),
        allowed: false,
        reason: `no cosign signature for ${images.unsigned}`,
      },
    ]);
    const r = await run(main, ['test', '--oci-layout', layouts.all, '-o', 'json', file]);
    const cases = JSON.parse(r.stdout).cases as { name: string; passed: boolean; message?: string }[];
    for (const c of cases) expect(c, c.message).toMatchObject({ passed: true });
    expect(r.code).toBe(0);
    const wrongkey = cases.find((c) => c.name === 'wrong key')!.message!;
    expect(wrongkey).toContain(images.wrongkey);
    // The same suite expecting the unsigned image to pass fails (exit 1) and says why.
    const wrong = suite(join(dir, 'wrong.bulwark-test.yaml'), [
      { name: 'unsigned', image: ref('unsigned'), allowed: true },
    ]);
    const failed = await run(main, ['test', '--oci-layout', layouts.all, wrong]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('expected allowed, got denied');
    expect(failed.stdout).toContain('no cosign signature');
  });

  it('refuses a corrupt blob (content not matching its digest) with exit 2 and the path, before running', async () => {
    const corrupt = join(dir, 'corrupt');
    await exec('cp', ['-r', layouts.pulled, corrupt]);
    const blobs = join(corrupt, 'blobs', 'sha256');
    const victim = readdirSync(blobs).find((b) => readFileSync(join(blobs, b), 'utf8').includes('simplesigning'))!;
    const bytes = readFileSync(join(blobs, victim), 'utf8');
    writeFileSync(join(blobs, victim), bytes.replace('simplesigning', 'simplesignin9'));
    const file = suite(join(dir, 'corrupt.bulwark-test.yaml'), [
      { name: 'legacy-signed', image: ref('legacy'), allowed: true },
    ]);
    const r = await run(main, ['test', '--oci-layout', corrupt, file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(blobs, victim)}: corrupt blob`);
    expect(r.stdout).toBe('');
    // Not a layout at all: exit 2 too.
    const none = await run(main, ['test', '--oci-layout', join(dir, 'nowhere'), file]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('not an OCI image layout');
  });

  it('serves `bulwark check` and `bulwark review` too', async () => {
    suite(join(dir, 'unused.bulwark-test.yaml'), [{ name: 'x', image: ref('bundle'), allowed: true }]);
    const policy = JSON.parse(readFileSync(join(dir, 'policy.yaml'), 'utf8'));
    const pod = (name: keyof typeof images) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'shop' },
      spec: { containers: [{ name: 'c', image: ref(name) }] },
    });
    const manifests = join(dir, 'pods.json');
    writeFileSync(
      manifests,
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [pod('bundle'), pod('unsigned')] }),
    );
    const snapshot = join(dir, 'snapshot.json');
    writeFileSync(
      snapshot,
      JSON.stringify({
        apiVersion: 'cli.bulwark.dev/v1alpha1',
        kind: 'ClusterSnapshot',
        takenAt: new Date().toISOString(),
        lockLabel: { key: 'bulwark.dev/immutable', value: 'true' },
        policies: [{ ...policy, metadata: { ...policy.metadata, uid: 'u1', resourceVersion: '1' } }],
        unlocks: [],
        namespaces: { shop: {} },
        objects: [],
      }),
    );
    const checked = await run(main, ['check', '-f', manifests, '--snapshot', snapshot, '--oci-layout', layouts.all]);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toContain('DENY Pod shop/unsigned');
    expect(checked.stdout).toContain(`no cosign signature for ${images.unsigned}`);
    expect(checked.stdout).toContain('2 manifests: 1 would be denied, 1 allowed');

    const policies = join(dir, 'policies');
    await exec('mkdir', ['-p', policies]);
    writeFileSync(join(policies, 'policy.json'), JSON.stringify(policy));
    writeFileSync(join(dir, 'pod.json'), JSON.stringify(pod('legacy')));
    const review = (layout: string) =>
      run(main, ['review', '--policies', policies, '--new', join(dir, 'pod.json'), '--oci-layout', layout]);
    expect((await review(layouts.all)).code).toBe(0);
    const without = await review(layouts.saved); // that layout holds only the bundle image's signature
    expect(without.code).toBe(1);
    expect(without.stdout).toContain('no cosign signature');
  });
});
