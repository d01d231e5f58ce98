// Attestations made by the real cosign v3 (`cosign attest`, DSSE + in-toto) on real
// registries, in both cosign formats: sigstore bundle referrers (the referrers API on
// oci-registry, the tag fallback on docker-registry) and the legacy `.att` tag. The
// verifier finds and verifies them; the pure rule judges the CEL conditions on their
// predicates at the request's time. Three predicates: SLSA provenance (builder id,
// source repository), a custom sign-off (approved by, ticket), a vulnerability scan
// (maximum severity, freshness).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerificationResult } from '../../../src/decision/facts.ts';
import { createVerifier } from '../../../src/image-verification/verify.ts';
import type { CompiledImagePolicy } from '../../../src/policy/compiled.ts';
import { createRegistryClient } from '../../../src/registry/client.ts';
import { attestationProblems } from '../../../src/rules/images/attestations.ts';
import {
  cosignAttest,
  cosignSign,
  crane,
  generateKeyPair,
  getManifestJson,
  pushRandomImage,
  putManifest,
  registryTools,
  sha256Digest,
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
const SLSA = 'https://slsa.dev/provenance/v1';
const SIGNOFF = 'https://bulwark.dev/attestations/signoff/v1';
const VULN = 'https://cosign.sigstore.dev/attestation/vuln/v1';
const DAY = 24 * 3600 * 1000;

let tools: RegistryTools;
let dir: string;
const keys = {} as Record<'build' | 'security' | 'mallory', KeyPair>;
const registries = {} as Record<RegistryKind, TestRegistry>;
const digests = {} as Record<string, string>;

const provenance = (builder: string, source: string) => ({
  buildDefinition: { buildType: 'https://ci.example.com/build/v1', externalParameters: { source } },
  runDetails: { builder: { id: builder } },
});
const scan = (maxSeverity: string, finished: Date) => ({
  scanner: { uri: 'pkg:github/aquasecurity/trivy', version: '0.60.0', result: { maxSeverity } },
  metadata: { scanStartedOn: finished.toISOString(), scanFinishedOn: finished.toISOString() },
});
const GOOD = {
  slsa: provenance(
    'https://ci.example.com/builders/trusted@v1',
    'git+https://git.example.com/shop/web@refs/heads/main',
  ),
  signoff: { approvedBy: ['carol'], ticket: 'CHG-1234' },
  vuln: () => scan('MEDIUM', new Date()),
};
const BAD = {
  slsa: provenance('https://evil.example.com/laptop', 'git+https://git.example.com/fork/web'),
  signoff: { approvedBy: ['carol'] },
  vuln: () => scan('CRITICAL', new Date(Date.now() - 10 * DAY)),
};

function policy(): CompiledImagePolicy {
  return signedByPolicy(keys.build.publicKeyPem, {
    authorities: [
      { name: 'build', key: { publicKey: keys.build.publicKeyPem } },
      { name: 'security', key: { publicKey: keys.security.publicKeyPem } },
    ],
    required: ['build'],
    attestations: [
      {
        name: 'provenance',
        predicateType: SLSA,
        authorities: ['build'],
        conditions: [
          {
            expression: 'predicate.runDetails.builder.id == "https://ci.example.com/builders/trusted@v1"',
            message: 'built by the trusted builder',
          },
          {
            expression:
              'predicate.buildDefinition.externalParameters.source.startsWith("git+https://git.example.com/shop/")',
          },
        ],
      },
      {
        name: 'signoff',
        predicateType: SIGNOFF,
        authorities: ['security'],
        conditions: [
          { expression: 'has(predicate.approvedBy) && size(predicate.approvedBy) > 0', message: 'approved by someone' },
          {
            expression: 'has(predicate.ticket) && predicate.ticket.matches("^CHG-[0-9]+$")',
            message: 'a change ticket',
          },
        ],
      },
      {
        name: 'scan',
        predicateType: VULN,
        authorities: ['security'],
        conditions: [
          { expression: 'predicate.scanner.result.maxSeverity in ["NONE", "LOW", "MEDIUM"]', message: 'no high' },
          { expression: 'timestamp(predicate.metadata.scanFinishedOn) > now - duration("168h")', message: 'fresh' },
        ],
      },
    ],
  });
}

async function verify(kind: RegistryKind, name: string): Promise<{ result: VerificationResult; problems?: string }> {
  const host = registries[kind].host;
  const digest = digests[`${kind} ${name}`]!;
  const client = createRegistryClient();
  try {
    const p = policy();
    const result = await createVerifier({ registry: client })(
      {
        image: { original: `${host}/shop/web@${digest}`, registry: host, repository: 'shop/web', digest },
        policy: p,
        pullSecrets: [],
      },
      AbortSignal.timeout(20_000),
    );
    const problems = result.ok ? attestationProblems(p, result.attestations, Date.now()) : undefined;
    return { result, ...(problems ? { problems } : {}) };
  } finally {
    client.close();
  }
}

interface Predicates {
  slsa: unknown;
  signoff: unknown;
  vuln: () => unknown;
}

async function attestAll(ref: string, format: SignatureFormat, predicates: Predicates, by = keys): Promise<void> {
  await cosignAttest(tools, by.build, ref, SLSA, predicates.slsa, format);
  await cosignAttest(tools, by.security, ref, SIGNOFF, predicates.signoff, format);
  await cosignAttest(tools, by.security, ref, VULN, predicates.vuln(), format);
}

/** Re-points the attestations of `from` at digest `to` (a copy from another image). */
async function copyAttestations(registry: TestRegistry, from: string, to: string, format: SignatureFormat) {
  const hex = (d: string) => d.slice('sha256:'.length);
  const repo = `${registry.host}/shop/web`;
  if (format === 'legacy') {
    await crane(tools, ['copy', `${repo}:sha256-${hex(from)}.att`, `${repo}:sha256-${hex(to)}.att`]);
  } else if (!registry.referrers) {
    await crane(tools, ['copy', `${repo}:sha256-${hex(from)}`, `${repo}:sha256-${hex(to)}`]);
  } else {
    const referrers = JSON.parse(
      await (await fetch(`http://${registry.host}/v2/shop/web/referrers/${from}`)).text(),
    ) as { manifests: { digest: string }[] };
    const size = Buffer.byteLength(await crane(tools, ['manifest', `${repo}@${to}`]));
    for (const r of referrers.manifests) {
      const manifest = await getManifestJson(tools, `${repo}@${r.digest}`);
      manifest.subject = { ...(manifest.subject as object), digest: to, size };
      const bytes = Buffer.from(JSON.stringify(manifest));
      await putManifest(registry.host, 'shop/web', sha256Digest(bytes), bytes, String(manifest.mediaType));
    }
  }
}

beforeAll(async () => {
  tools = await registryTools();
  dir = mkdtempSync(join(tmpdir(), 'bulwark-attest-'));
  const started = await Promise.all(KINDS.map((k) => startRegistry(k, tools, join(dir, k))));
  for (const r of started) registries[r.kind] = r;
  for (const name of ['build', 'security', 'mallory'] as const)
    keys[name] = await generateKeyPair(tools, join(dir, name));
  const wrong = { build: keys.mallory, security: keys.mallory, mallory: keys.mallory };
  for (const kind of KINDS) {
    const registry = registries[kind];
    for (const format of FORMATS) {
      const push = async (name: string) => {
        const digest = await pushRandomImage(tools, `${registry.host}/shop/web:${name}-${format}`, join(dir, 'l'));
        digests[`${kind} ${name}-${format}`] = digest;
        // The image signature itself is legacy, so that copied bundles cannot stand in for it.
        await cosignSign(tools, keys.build, `${registry.host}/shop/web@${digest}`, 'legacy');
        return `${registry.host}/shop/web@${digest}`;
      };
      await attestAll(await push('good'), format, GOOD);
      await attestAll(await push('bad'), format, BAD);
      await attestAll(await push('wrong-key'), format, GOOD, wrong);
      await push('other-digest');
      await copyAttestations(
        registry,
        digests[`${kind} good-${format}`]!,
        digests[`${kind} other-digest-${format}`]!,
        format,
      );
      await push('none');
    }
  }
}, 480_000);

afterAll(async () => {
  await Promise.all(Object.values(registries).map((r) => r.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(KINDS)('attestations on %s', (kind) => {
  it.each(FORMATS)('all three hold (%s)', async (format) => {
    const { result, problems } = await verify(kind, `good-${format}`);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    expect(problems).toBeUndefined();
    const found = result.ok ? (result.attestations ?? []).map((a) => [a.name, a.found.map((f) => f.signer)]) : [];
    expect(found).toEqual([
      ['provenance', ['build']],
      ['signoff', ['security']],
      ['scan', ['security']],
    ]);
  });

  it.each(FORMATS)('failing predicates: each named with its condition (%s)', async (format) => {
    const { problems } = await verify(kind, `bad-${format}`);
    expect(problems).toMatch(
      /has attestation provenance \(https:\/\/slsa\.dev\/provenance\/v1\), but the one signed by build /,
    );
    expect(problems).toMatch(
      /signed by build .* fails built by the trusted builder \(predicate\.runDetails\.builder\.id ==/,
    );
    expect(problems).toMatch(/has attestation signoff .* fails a change ticket \(has\(predicate\.ticket\)/);
    expect(problems).toMatch(/has attestation scan .* fails no high \(predicate\.scanner\.result\.maxSeverity in/);
  });

  it.each(FORMATS)('signed by the wrong key: no attestation counts (%s)', async (format) => {
    const { problems } = await verify(kind, `wrong-key-${format}`);
    expect(problems).toMatch(
      /has no attestation provenance \(https:\/\/slsa\.dev\/provenance\/v1\) signed by build for this digest: /,
    );
    expect(problems).toMatch(
      format === 'legacy'
        ? /a DSSE envelope does not verify with the key/
        : /signed with another key than the trusted one/,
    );
  });

  it.each(FORMATS)('an attestation made for another digest does not count (%s)', async (format) => {
    const { problems } = await verify(kind, `other-digest-${format}`);
    expect(problems).toMatch(/has no attestation provenance .* for this digest: the attestation is for sha256:/);
  });

  it.each(FORMATS)('none at all (%s)', async (format) => {
    const { problems } = await verify(kind, `none-${format}`);
    expect(problems).toMatch(
      /^has no attestation provenance .*; has no attestation signoff .*; has no attestation scan/,
    );
  });
});
