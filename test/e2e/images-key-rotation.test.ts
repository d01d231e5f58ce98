// Key rotation revokes: a digest verified with the old key is not admitted once the key
// Secret holds a new one, although its earlier verification is still in the cache
// (results are cached by the key material, not only by policy). The key Secret must be
// locked, so the rotation itself goes through an approved UnlockRequest; a policy whose
// key Secret is not locked verifies nothing. Real cosign keys, real signatures, a real
// registry.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import {
  cosignSign,
  generateKeyPair,
  pushRandomImage,
  registryTools,
  startRegistry,
  type KeyPair,
  type RegistryTools,
  type TestRegistry,
} from './helpers/registry.ts';
import { retryUntil } from './helpers/retry.ts';
import { approvablePolicy, approvedUnlock } from './helpers/unlock.ts';
import { DENIED_BY_BULWARK } from './helpers/denied.ts';

const work = mkdtempSync(join(tmpdir(), 'bulwark-e2e-rotation-'));
let tools: RegistryTools;
let registry: TestRegistry;
let oldKey: KeyPair;
let newKey: KeyPair;
let signedOld: string;
let signedNew: string;
let ns: string;
let counter = 0;

const keySecret = (name: string, pem: string, locked: boolean) =>
  stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns, ...(locked ? { labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } } : {}) },
    type: 'Opaque',
    stringData: { 'cosign.pub': pem },
  });
const imagePolicy = (name: string, secret: string, repo: string) =>
  stringify({
    apiVersion: 'bulwark.dev/v1alpha1',
    kind: 'ImagePolicy',
    metadata: { name },
    spec: {
      images: [`${registry.host}/${repo}/**`],
      match: { namespaces: [ns] },
      registry: { insecure: true },
      unmatchedImages: 'Allow',
      authorities: [{ name: 'release', key: { secretRef: { namespace: ns, name: secret } } }],
    },
  });
const runPod = (image: string) =>
  kubectl(['apply', '-f', '-'], {
    user: 'alice',
    input: stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `pod-${++counter}`, namespace: ns },
      spec: { containers: [{ name: 'app', image }] },
    }),
  });

async function push(repo: string, key: KeyPair): Promise<string> {
  const digest = await pushRandomImage(tools, `${registry.host}/${repo}:latest`, join(work, 'layers'));
  const image = `${registry.host}/${repo}@${digest}`;
  await cosignSign(tools, key, image, 'bundle');
  return image;
}

beforeAll(async () => {
  tools = await registryTools();
  registry = await startRegistry('oci-registry', tools, join(work, 'registry'));
  [oldKey, newKey] = await Promise.all([
    generateKeyPair(tools, join(work, 'old')),
    generateKeyPair(tools, join(work, 'new')),
  ]);
  signedOld = await push('rotate/app', oldKey);
  signedNew = await push('rotate/app', newKey);
  ns = await newNamespace('rotation');
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: [
      approvablePolicy(`rotation-${ns}`, { namespaces: [ns] }),
      keySecret('cosign-pub', oldKey.publicKeyPem, true),
      keySecret('unlocked-pub', oldKey.publicKeyPem, false),
      imagePolicy(`rotation-${ns}`, 'cosign-pub', 'rotate'),
    ].join('---\n'),
  });
}, 240_000);

afterAll(async () => {
  await kubectl(['delete', 'imagepolicy', `rotation-${ns}`, `unlocked-${ns}`, '--ignore-not-found']);
  await registry?.stop();
});

describe("rotating the key in a policy's Secret", () => {
  it('before: the image signed with the current key is admitted (and its verification cached)', async () => {
    const r = await retryUntil(
      () => runPod(signedOld),
      (result) => result.code === 0,
    );
    expect(r.code, r.stderr).toBe(0);
    expect((await runPod(signedNew)).stderr).toContain('is signed, but by a key the policy does not trust');
  });

  it('the locked key Secret cannot be swapped without an approved unlock', async () => {
    const r = await kubectl(['apply', '-f', '-'], {
      user: 'alice',
      input: keySecret('cosign-pub', newKey.publicKeyPem, true),
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`Secret ${ns}/cosign-pub is locked`);
  });

  it(
    "after an approved rotation, the old key's image is denied at once (within the Secret cache) and the new " +
      "key's admitted",
    async () => {
      const unlock = await approvedUnlock(
        { apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'cosign-pub' },
        ['UPDATE'],
        { reason: 'rotate the release key' },
      );
      await kubectlOk(kubectl, ['apply', '-f', '-'], {
        user: 'alice',
        input: keySecret('cosign-pub', newKey.publicKeyPem, true),
      });
      await kubectlOk(kubectl, ['delete', 'unlockrequest', unlock]);
      // Bulwark re-reads Secrets at most 10 s old; the cached "verified" (10 minutes) must not outlive that.
      const r = await retryUntil(
        () => runPod(signedOld),
        (result) => result.code !== 0,
        { timeoutMs: 20_000, intervalMs: 500 },
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(DENIED_BY_BULWARK);
      expect(r.stderr).toContain(
        `image "${signedOld}" (spec.containers[0].image) is signed, but by a key the policy does not trust`,
      );
      const ok = await runPod(signedNew);
      expect(ok.code, ok.stderr).toBe(0);
    },
  );
});

describe('a key Secret without the lock label', () => {
  it('is not trusted: anyone who can write it could swap the key', async () => {
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: imagePolicy(`unlocked-${ns}`, 'unlocked-pub', 'other') });
    const image = await push('other/app', oldKey);
    const r = await retryUntil(
      () => runPod(image),
      (result) => result.code !== 0,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `could not be verified: the policy's key or credentials are unavailable (ImagePolicy unlocked-${ns}): the ` +
        `key Secret ${ns}/unlocked-pub is not locked (labelled ${LOCK_LABEL.key}=${LOCK_LABEL.value})`,
    );
  });
});
