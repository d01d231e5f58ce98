// Signed off by everyone who must, against the real apiserver: an ImagePolicy that needs
// 2 of build, qa and security (cosign v3 keys), images signed in both cosign formats on
// a registry with the referrers API (oci-registry) and one without (docker-registry).
// What kubectl users see, and that the threshold cannot be lowered quietly.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, newNamespace } from '../../harness/context.ts';
import { applyImagePolicy, podManifest } from './helpers/image-policy.ts';
import {
  cosignSign,
  generateKeyPair,
  pushRandomImage,
  registryTools,
  startRegistry,
  type KeyPair,
  type RegistryTools,
  type SignatureFormat,
  type TestRegistry,
} from './helpers/registry.ts';

let tools: RegistryTools;
let oci: TestRegistry;
let plain: TestRegistry;
const keys: Record<string, KeyPair> = {};
let ns: string;
const images: Record<string, string> = {};
const work = mkdtempSync(join(tmpdir(), 'bulwark-e2e-signoff-'));
const policyName = () => `signoff-${ns}`;

async function pushSigned(registry: TestRegistry, name: string, by: [string, SignatureFormat][]): Promise<string> {
  const digest = await pushRandomImage(tools, `${registry.host}/team/app:${name}`, join(work, 'layers'));
  const ref = `${registry.host}/team/app@${digest}`;
  for (const [signer, format] of by) await cosignSign(tools, keys[signer]!, ref, format);
  return ref;
}

const pod = (name: string, image: string) => podManifest(ns, name, image);

function policy(spec: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'bulwark.dev/v1alpha1',
    kind: 'ImagePolicy',
    metadata: { name: policyName() },
    spec: {
      images: [`${oci.host}/team/**`, `${plain.host}/team/**`],
      match: { namespaces: [ns] },
      threshold: 2,
      authorities: ['build', 'qa', 'security'].map((name) => ({ name, key: { publicKey: keys[name]!.publicKeyPem } })),
      registry: { insecure: true },
      ...spec,
    },
  });
}

beforeAll(async () => {
  tools = await registryTools();
  [oci, plain] = await Promise.all([
    startRegistry('oci-registry', tools, join(work, 'oci')),
    startRegistry('docker-registry', tools, join(work, 'docker')),
  ]);
  for (const name of ['build', 'qa', 'security']) keys[name] = await generateKeyPair(tools, join(work, name));
  for (const [registry, where] of [
    [oci, 'oci'],
    [plain, 'plain'],
  ] as const) {
    for (const format of ['bundle', 'legacy'] as const) {
      images[`${where}-met-${format}`] = await pushSigned(registry, `met-${format}`, [
        ['build', format],
        ['security', format],
      ]);
      images[`${where}-short-${format}`] = await pushSigned(registry, `short-${format}`, [['build', format]]);
    }
    images[`${where}-twice`] = await pushSigned(registry, 'twice', [
      ['qa', 'bundle'],
      ['qa', 'legacy'],
    ]);
  }
  ns = await newNamespace('signoff');
  await applyImagePolicy(policy(), ns, images['oci-short-bundle']!);
}, 300_000);

afterAll(async () => {
  await kubectl(['delete', 'imagepolicy', policyName(), '--ignore-not-found']);
  await Promise.all([oci?.stop(), plain?.stop()]);
});

describe.each(['oci', 'plain'])('2 of build, qa, security (registry %s)', (where) => {
  it.each(['bundle', 'legacy'])('met: build and security signed (%s)', async (format) => {
    const r = await kubectl(['apply', '-f', '-'], {
      input: pod(`met-${where}-${format}`, images[`${where}-met-${format}`]!),
      user: 'alice',
    });
    expect(r.code, r.stderr).toBe(0);
  });

  it.each(['bundle', 'legacy'])('not met: only build signed (%s)', async (format) => {
    const r = await kubectl(['apply', '-f', '-'], {
      input: pod(`short-${where}-${format}`, images[`${where}-short-${format}`]!),
      user: 'alice',
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/is not signed off by enough of the signers the policy requires \(ImagePolicy signoff-/);
    expect(r.stderr).toMatch(/signed by build; missing qa, security; 1 more needed \(threshold 2 of 3\)/);
  });

  it('qa signing in both formats is still one signer', async () => {
    const r = await kubectl(['apply', '-f', '-'], {
      input: pod(`twice-${where}`, images[`${where}-twice`]!),
      user: 'alice',
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/signed by qa; missing build, security; 1 more needed \(threshold 2 of 3\)/);
  });
});

describe('the policy itself', () => {
  it('one key under two names, an unreachable threshold, an unknown required name: refused with paths', async () => {
    const r = await kubectl(['apply', '-f', '-'], {
      input: policy({
        threshold: 4,
        required: ['secops'],
        authorities: [
          { name: 'build', key: { publicKey: keys.build!.publicKeyPem } },
          { name: 'build-again', key: { publicKey: keys.build!.publicKeyPem } },
        ],
      }),
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.required\[0\]: names no authority \("secops"\)/);
    expect(r.stderr).toMatch(/spec\.threshold: 4 cannot be reached: the policy has 2 authorities/);
    expect(r.stderr).toMatch(/spec\.authorities\[1\]\.key: is the same key as authority "build": a signer counts once/);
  });

  it('lowering the threshold loosens it: denied without an approved UnlockRequest', async () => {
    const r = await kubectl(['apply', '-f', '-'], { input: policy({ threshold: 1 }) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/need 1 signers instead of 2/);
  });

  it('raising it, or requiring security, tightens it: allowed', async () => {
    const r = await kubectl(['apply', '-f', '-'], { input: policy({ required: ['security'] }) });
    expect(r.code, r.stderr).toBe(0);
    const dropped = await kubectl(['apply', '-f', '-'], { input: policy() });
    expect(dropped.code).not.toBe(0);
    expect(dropped.stderr).toMatch(/stop requiring key security/);
  });
});
