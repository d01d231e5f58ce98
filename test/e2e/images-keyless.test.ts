// Keyless identities against the real apiserver: an ImagePolicy trusting the identity
// alice@example.com from https://issuer.example.com under the trusted root in a locked
// ConfigMap (the Fulcio, CT and Rekor stand-ins' public material, as sigstore's
// trusted_root.json). Images signed keylessly by the real cosign v3 in both formats:
// admitted when the identity, the chain at signing time, the SCT and the log entry hold;
// denied with a reason naming who signed otherwise. Keyless identities are signers in
// thresholds and authorities for attestations.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { applyImagePolicy, podManifest } from './helpers/image-policy.ts';
import { cosignKeyless, keylessSigner, startSigstoreStandIn, type SigstoreStandIn } from './helpers/keyless.ts';
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

const ISSUER = 'https://issuer.example.com';
const ALICE = { issuer: ISSUER, subject: 'alice@example.com' };
const SCAN = 'https://cosign.sigstore.dev/attestation/vuln/v1';
const FORMATS = ['bundle', 'legacy'] as const;
const work = mkdtempSync(join(tmpdir(), 'bulwark-e2e-keyless-'));
let tools: RegistryTools;
let registry: TestRegistry;
let sigstore: SigstoreStandIn;
let build: KeyPair;
const images: Record<string, string> = {};
/** Namespaces: the base policy's, and one each for the threshold and attestation policies. */
const spaces = { base: '', threshold: '', attested: '' };
const policyName = (space: keyof typeof spaces) => `keyless-${spaces[space]}`;
const root = () => ({ namespace: spaces.base, name: 'sigstore-root' });

function policy(space: keyof typeof spaces, spec: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'bulwark.dev/v1alpha1',
    kind: 'ImagePolicy',
    metadata: { name: policyName(space) },
    spec: {
      images: [`${registry.host}/team/**`],
      match: { namespaces: [spaces[space]] },
      registry: { insecure: true },
      authorities: [{ name: 'ci', keyless: { trustedRootRef: root(), identities: [ALICE] } }],
      ...spec,
    },
  });
}

const run = (name: string, image: string, space: keyof typeof spaces = 'base') =>
  kubectl(['apply', '-f', '-'], { input: podManifest(spaces[space], name, image), user: 'alice' });

beforeAll(async () => {
  tools = await registryTools();
  registry = await startRegistry('oci-registry', tools, join(work, 'oci'));
  sigstore = await startSigstoreStandIn();
  build = await generateKeyPair(tools, join(work, 'build'));
  const signer = (name: string, identity = ALICE, options = {}) =>
    keylessSigner(tools, sigstore, join(work, name), identity, options);
  const alice = await signer('alice');
  const bob = await signer('bob', { issuer: ISSUER, subject: 'bob@example.com' });
  const otherIssuer = await signer('other-issuer', { issuer: 'https://accounts.example.org', subject: ALICE.subject });
  const expiring = await signer('expiring', ALICE, { notAfter: new Date(Date.now() + 5 * 60_000) });
  const push = async (name: string) => {
    const digest = await pushRandomImage(tools, `${registry.host}/team/app:${name}`, join(work, 'layers'));
    images[name] = `${registry.host}/team/app@${digest}`;
    return images[name];
  };
  for (const format of FORMATS) {
    await cosignKeyless(tools, sigstore, alice, await push(`alice-${format}`), format);
    await cosignKeyless(tools, sigstore, bob, await push(`bob-${format}`), format);
    await cosignKeyless(tools, sigstore, otherIssuer, await push(`other-issuer-${format}`), format);
    const late = Math.floor(Date.now() / 1000) + 600;
    await cosignKeyless(tools, sigstore, expiring, await push(`expired-${format}`), format, { integratedTime: late });
    await cosignKeyless(tools, sigstore, alice, await push(`unlogged-${format}`), format, { log: false });
    const both = await push(`alice-and-build-${format}`);
    await cosignKeyless(tools, sigstore, alice, both, format);
    await cosignSign(tools, build, both, format);
    const scanned = await push(`scanned-${format}`);
    await cosignKeyless(tools, sigstore, alice, scanned, format);
    const scan = { scanner: { result: { maxSeverity: 'LOW' } } };
    await cosignKeyless(tools, sigstore, alice, scanned, format, {
      command: { attest: { type: SCAN, predicate: scan } },
    });
    const critical = await push(`critical-${format}`);
    await cosignKeyless(tools, sigstore, alice, critical, format);
    const bad = { scanner: { result: { maxSeverity: 'CRITICAL' } } };
    await cosignKeyless(tools, sigstore, alice, critical, format, {
      command: { attest: { type: SCAN, predicate: bad } },
    });
  }
  for (const space of ['base', 'threshold', 'attested'] as const)
    spaces[space] = await newNamespace(`keyless-${space}`);
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'sigstore-root', namespace: spaces.base, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
      data: { 'trusted_root.json': sigstore.trustedRoot },
    }),
  });
  await applyImagePolicy(policy('base'), spaces.base, images['bob-bundle']!);
  const threshold = {
    threshold: 2,
    authorities: [
      { name: 'ci', keyless: { trustedRootRef: root(), identities: [ALICE] } },
      { name: 'build', key: { publicKey: build.publicKeyPem } },
    ],
  };
  await applyImagePolicy(policy('threshold', threshold), spaces.threshold, images['bob-bundle']!);
  const attestations = [
    {
      name: 'scan',
      predicateType: SCAN,
      authorities: ['ci'],
      conditions: [
        { expression: 'predicate.scanner.result.maxSeverity in ["NONE", "LOW"]', message: 'no severe findings' },
      ],
    },
  ];
  await applyImagePolicy(policy('attested', { attestations }), spaces.attested, images['bob-bundle']!);
}, 600_000);

afterAll(async () => {
  for (const space of ['base', 'threshold', 'attested'] as const)
    await kubectl(['delete', 'imagepolicy', policyName(space), '--ignore-not-found']);
  await registry?.stop();
});

describe.each(FORMATS)('keyless, %s format', (format) => {
  it('signed by the trusted identity, logged, with an SCT: admitted', async () => {
    const r = await run(`alice-${format}`, images[`alice-${format}`]!);
    expect(r.code, r.stderr).toBe(0);
  });

  it('another identity: denied, naming who signed', async () => {
    const r = await run(`bob-${format}`, images[`bob-${format}`]!);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/signed keylessly by "bob@example.com" \(issuer "https:\/\/issuer.example.com"\)/);
    expect(r.stderr).toMatch(
      /none of the trusted identities \(issuer "https:\/\/issuer.example.com", subject "alice@ex/,
    );
  });

  it('the right subject from another issuer: denied, naming the issuer', async () => {
    const r = await run(`other-issuer-${format}`, images[`other-issuer-${format}`]!);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/signed keylessly by "alice@example.com" \(issuer "https:\/\/accounts.example.org"\)/);
  });

  it('a certificate that had expired when the log integrated the signature: denied', async () => {
    const r = await run(`expired-${format}`, images[`expired-${format}`]!);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /does not chain to a certificate authority of the trusted root in ConfigMap .* at signing time/,
    );
    expect(r.stderr).toMatch(/expired/);
  });

  it('no transparency-log entry: denied', async () => {
    const r = await run(`unlogged-${format}`, images[`unlogged-${format}`]!);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no transparency-log entry \(no Rekor inclusion proof or SET\)/);
  });

  it('a keyless identity and a key are two signers of a threshold', async () => {
    const met = await run(`both-${format}`, images[`alice-and-build-${format}`]!, 'threshold');
    expect(met.code, met.stderr).toBe(0);
    const short = await run(`short-${format}`, images[`alice-${format}`]!, 'threshold');
    expect(short.code).not.toBe(0);
    expect(short.stderr).toMatch(/signed by ci; missing build; 1 more needed \(threshold 2 of 2\)/);
  });

  it('a keyless attestation: its predicate decides', async () => {
    const ok = await run(`scanned-${format}`, images[`scanned-${format}`]!, 'attested');
    expect(ok.code, ok.stderr).toBe(0);
    const bad = await run(`critical-${format}`, images[`critical-${format}`]!, 'attested');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/no severe findings/);
  });
});
