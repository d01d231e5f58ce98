// Attestations against the real apiserver: an ImagePolicy that requires a sign-off
// attestation (cosign attest, real cosign v3) by the security key, with CEL conditions.
// What kubectl users see for a passing, a failing, a wrongly signed and a copied
// attestation, in both cosign formats; and a bad expression refused at policy admission.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, newNamespace } from '../../harness/context.ts';
import { applyImagePolicy, podManifest } from './helpers/image-policy.ts';
import {
  cosignAttest,
  cosignSign,
  crane,
  generateKeyPair,
  pushRandomImage,
  registryTools,
  startRegistry,
  type KeyPair,
  type RegistryTools,
  type TestRegistry,
} from './helpers/registry.ts';

const SIGNOFF = 'https://bulwark.dev/attestations/signoff/v1';
let tools: RegistryTools;
let registry: TestRegistry;
const keys: Record<string, KeyPair> = {};
let ns: string;
const images: Record<string, string> = {};
const work = mkdtempSync(join(tmpdir(), 'bulwark-e2e-attest-'));
const policyName = () => `attested-${ns}`;

function policy(conditions: { expression: string; message?: string }[]): string {
  return stringify({
    apiVersion: 'bulwark.dev/v1alpha1',
    kind: 'ImagePolicy',
    metadata: { name: policyName() },
    spec: {
      images: [`${registry.host}/shop/**`],
      match: { namespaces: [ns] },
      authorities: ['build', 'security'].map((name) => ({ name, key: { publicKey: keys[name]!.publicKeyPem } })),
      required: ['build'],
      attestations: [{ name: 'signoff', predicateType: SIGNOFF, authorities: ['security'], conditions }],
      registry: { insecure: true },
    },
  });
}

const CONDITIONS = [
  { expression: 'has(predicate.approvedBy) && size(predicate.approvedBy) > 0', message: 'approved by someone' },
  { expression: 'has(predicate.ticket) && predicate.ticket.matches("^CHG-[0-9]+$")', message: 'a change ticket' },
];

const pod = (name: string, image: string) => podManifest(ns, name, image);

async function image(name: string, format: 'bundle' | 'legacy', signoff?: { by: string; predicate: unknown }) {
  const digest = await pushRandomImage(tools, `${registry.host}/shop/web:${name}-${format}`, join(work, 'layers'));
  const ref = `${registry.host}/shop/web@${digest}`;
  await cosignSign(tools, keys.build!, ref, 'legacy');
  if (signoff) await cosignAttest(tools, keys[signoff.by]!, ref, SIGNOFF, signoff.predicate, format);
  images[`${name}-${format}`] = ref;
}

beforeAll(async () => {
  tools = await registryTools();
  registry = await startRegistry('docker-registry', tools, join(work, 'docker'));
  for (const name of ['build', 'security', 'mallory']) keys[name] = await generateKeyPair(tools, join(work, name));
  for (const format of ['bundle', 'legacy'] as const) {
    await image('approved', format, { by: 'security', predicate: { approvedBy: ['carol'], ticket: 'CHG-1234' } });
    await image('no-ticket', format, { by: 'security', predicate: { approvedBy: ['carol'] } });
    await image('mallory', format, { by: 'mallory', predicate: { approvedBy: ['mallory'], ticket: 'CHG-1' } });
    await image('copied', format);
    // The approved image's attestations, copied to this digest's tag: made for another digest.
    const tag = (ref: string) => `${ref.split('@')[1]!.replace(':', '-')}${format === 'legacy' ? '.att' : ''}`;
    const repo = `${registry.host}/shop/web`;
    await crane(tools, [
      'copy',
      `${repo}:${tag(images[`approved-${format}`]!)}`,
      `${repo}:${tag(images[`copied-${format}`]!)}`,
    ]);
  }
  ns = await newNamespace('attest');
  await applyImagePolicy(policy(CONDITIONS), ns, images['no-ticket-bundle']!);
}, 300_000);

afterAll(async () => {
  await kubectl(['delete', 'imagepolicy', policyName(), '--ignore-not-found']);
  await registry?.stop();
});

describe.each(['bundle', 'legacy'])('a sign-off attestation (%s)', (format) => {
  const apply = (name: string) =>
    kubectl(['apply', '-f', '-'], { input: pod(`${name}-${format}`, images[`${name}-${format}`]!), user: 'alice' });

  it('approved with a ticket: admitted', async () => {
    const r = await apply('approved');
    expect(r.code, r.stderr).toBe(0);
  });

  it('a failing predicate: denied, naming the condition', async () => {
    const r = await apply('no-ticket');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /has attestation signoff \(https:\/\/bulwark\.dev\/attestations\/signoff\/v1\), but the one/,
    );
    expect(r.stderr).toMatch(/signed by security .* fails a change ticket \(has\(predicate\.ticket\)/);
  });

  it('signed by the wrong key: denied', async () => {
    const r = await apply('mallory');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /has no attestation signoff \(https:\/\/bulwark\.dev\/attestations\/signoff\/v1\) signed by/,
    );
    expect(r.stderr).toMatch(format === 'legacy' ? /does not verify with the key/ : /signed with another key/);
  });

  it('made for another digest: denied', async () => {
    const r = await apply('copied');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/has no attestation signoff .* for this digest: the attestation is for sha256:/);
  });
});

describe('the policy', () => {
  it('a bad CEL expression is refused at admission with its path', async () => {
    const r = await kubectl(['apply', '-f', '-'], { input: policy([{ expression: 'predicate.ticket.matches(' }]) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.attestations\[0\]\.conditions\[0\]\.expression: is not valid CEL/);
  });

  it('dropping a condition loosens it: denied without an approved UnlockRequest', async () => {
    const r = await kubectl(['apply', '-f', '-'], { input: policy(CONDITIONS.slice(0, 1)) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/require less of attestation signoff/);
  });
});
