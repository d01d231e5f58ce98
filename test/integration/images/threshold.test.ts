// k of n signers against real registries and real cosign v3 signatures, in both cosign
// formats: build, qa and security each hold a key made by `cosign generate-key-pair`;
// images are pushed with crane and signed by some of them. oci-registry serves the
// referrers API; docker-registry has none (cosign's tag fallback for bundles).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerificationResult } from '../../../src/decision/facts.ts';
import { createVerifier } from '../../../src/image-verification/verify.ts';
import { createRegistryClient } from '../../../src/registry/client.ts';
import {
  cosignSign,
  generateKeyPair,
  pushRandomImage,
  registryTools,
  signedByPolicy,
  startRegistry,
  type KeyPair,
  type RegistryKind,
  type RegistryTools,
  type SignatureFormat,
  type TestRegistry,
} from '../../e2e/helpers/registry.ts';

const KINDS: RegistryKind[] = ['oci-registry', 'docker-registry'];
const FORMATS: SignatureFormat[] = ['bundle', 'legacy'];
const SIGNERS = ['build', 'qa', 'security'] as const;
type Signer = (typeof SIGNERS)[number];

let tools: RegistryTools;
let dir: string;
const keys = {} as Record<Signer, KeyPair>;
const registries = {} as Record<RegistryKind, TestRegistry>;
/** Digest by registry, then by case name. */
const digests = {} as Record<RegistryKind, Record<string, string>>;

/** Which keys sign each case's image, in which format. */
const CASES: Record<string, [Signer, SignatureFormat][]> = {
  'build+qa bundle': [
    ['build', 'bundle'],
    ['qa', 'bundle'],
  ],
  'build+qa legacy': [
    ['build', 'legacy'],
    ['qa', 'legacy'],
  ],
  'build bundle + security legacy': [
    ['build', 'bundle'],
    ['security', 'legacy'],
  ],
  'build only': [['build', 'bundle']],
  'build twice, both formats': [
    ['build', 'bundle'],
    ['build', 'legacy'],
  ],
  'all three': [
    ['build', 'legacy'],
    ['qa', 'bundle'],
    ['security', 'bundle'],
  ],
};

function policy(spec: Record<string, unknown>) {
  return signedByPolicy(keys.build.publicKeyPem, {
    authorities: SIGNERS.map((name) => ({ name, key: { publicKey: keys[name].publicKeyPem } })),
    ...spec,
  });
}

async function verify(kind: RegistryKind, name: string, spec: Record<string, unknown>): Promise<VerificationResult> {
  const host = registries[kind].host;
  const digest = digests[kind][name]!;
  const client = createRegistryClient();
  try {
    return await createVerifier({ registry: client })(
      {
        image: { original: `${host}/team/app@${digest}`, registry: host, repository: 'team/app', digest },
        policy: policy(spec),
        pullSecrets: [],
      },
      AbortSignal.timeout(20_000),
    );
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  tools = await registryTools();
  dir = mkdtempSync(join(tmpdir(), 'bulwark-threshold-'));
  const started = await Promise.all(KINDS.map((k) => startRegistry(k, tools, join(dir, k))));
  for (const r of started) registries[r.kind] = r;
  const pairs = await Promise.all(SIGNERS.map((s) => generateKeyPair(tools, join(dir, s))));
  SIGNERS.forEach((s, i) => {
    keys[s] = pairs[i]!;
  });
  for (const kind of KINDS) {
    const host = registries[kind].host;
    digests[kind] = {};
    for (const [name, signatures] of Object.entries(CASES)) {
      const digest = await pushRandomImage(tools, `${host}/team/app:${name.replace(/\W+/g, '-')}`, join(dir, 'l'));
      digests[kind][name] = digest;
      for (const [signer, format] of signatures)
        await cosignSign(tools, keys[signer], `${host}/team/app@${digest}`, format);
    }
  }
}, 240_000);

afterAll(async () => {
  await Promise.all(Object.values(registries).map((r) => r.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(KINDS)('threshold on %s', (kind) => {
  it.each(FORMATS)('2 of 3 met (%s signatures)', async (format) => {
    const result = await verify(kind, `build+qa ${format}`, { threshold: 2 });
    expect(result).toMatchObject({ ok: true, authority: 'build,qa' });
    expect(result.ok && result.detail).toMatch(/^2 of 3 signers \(threshold 2\): build \(.*\), qa \(/);
  });

  it('2 of 3 met with one signer in each format', async () => {
    const result = await verify(kind, 'build bundle + security legacy', { threshold: 2 });
    expect(result).toMatchObject({ ok: true, authority: 'build,security' });
    expect(result.ok && result.detail).toMatch(/build \(sigstore bundle .*\), security \(cosign legacy signature/);
  });

  it('2 of 3 not met: the denial names who signed, who is missing and how many more', async () => {
    const result = await verify(kind, 'build only', { threshold: 2 });
    expect(result).toMatchObject({ ok: false, failure: 'too-few-signers' });
    expect(!result.ok && result.reason).toMatch(
      /^signed by build; missing qa, security; 1 more needed \(threshold 2 of 3\)\. authority "qa": /,
    );
  });

  it('one signer who signed in both formats counts once', async () => {
    const result = await verify(kind, 'build twice, both formats', { threshold: 2 });
    expect(result).toMatchObject({ ok: false, failure: 'too-few-signers' });
    expect(!result.ok && result.reason).toMatch(/^signed by build; missing qa, security; 1 more needed/);
  });

  it('a required signer: met only when security signed', async () => {
    const missing = await verify(kind, 'build+qa bundle', { threshold: 2, required: ['security'] });
    expect(missing).toMatchObject({ ok: false, failure: 'too-few-signers' });
    expect(!missing.ok && missing.reason).toMatch(/required security did not sign/);
    expect(
      await verify(kind, 'build bundle + security legacy', { threshold: 2, required: ['security'] }),
    ).toMatchObject({ ok: true });
    expect(await verify(kind, 'all three', { threshold: 3, required: ['security'] })).toMatchObject({
      ok: true,
      authority: 'build,qa,security',
    });
  });

  it('nobody of the policy signed: the failure says why, with the summary', async () => {
    const result = await verify(kind, 'build only', {
      threshold: 2,
      authorities: [
        { name: 'qa', key: { publicKey: keys.qa.publicKeyPem } },
        { name: 'security', key: { publicKey: keys.security.publicKeyPem } },
      ],
    });
    // The bundle names build's key: an untrusted signer for qa and security.
    expect(result).toMatchObject({ ok: false, failure: 'untrusted-signer' });
    expect(!result.ok && result.reason).toMatch(/^signed by none of its signers; missing qa, security; 2 more needed/);
  });
});
