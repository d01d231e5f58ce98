// Keyless signatures against real registries and real cosign v3 material, in both cosign
// formats: certificates from the Fulcio stand-in (with Fulcio's identity extensions and an
// SCT from the CT stand-in), signed by cosign with `--certificate`, logged by the Rekor
// stand-in (SET and inclusion proof), verified offline against the stand-ins' trusted root.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecretData } from '../../../src/cluster/secrets.ts';
import type { VerificationResult } from '../../../src/decision/facts.ts';
import { createVerifier } from '../../../src/image-verification/verify.ts';
import { createRegistryClient } from '../../../src/registry/client.ts';
import { joinedRegExp } from '../../helpers/regexp.ts';
import {
  cosignKeyless,
  keylessSigner,
  startSigstoreStandIn,
  type KeylessSigner,
  type SigstoreStandIn,
} from '../../e2e/helpers/keyless.ts';
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
const ISSUER = 'https://issuer.example.com';
const ALICE = { issuer: ISSUER, subject: 'alice@example.com' };
const LOCK = { 'bulwark.dev/immutable': 'true' };

let tools: RegistryTools;
let dir: string;
let sigstore: SigstoreStandIn;
let other: SigstoreStandIn;
const registries = {} as Record<RegistryKind, TestRegistry>;
const signers = {} as Record<'alice' | 'bob' | 'expiring' | 'noSct' | 'foreign', KeylessSigner>;
let build: KeyPair;
/** Digest by registry, then by case name (format included). */
const digests = {} as Record<RegistryKind, Record<string, string>>;

const configMaps = new Map<string, SecretData>();
const readConfigMap = async (ref: { namespace: string; name: string }) =>
  configMaps.get(`${ref.namespace}/${ref.name}`);

function keyless(name: string, identities: object[], root = 'trust/root') {
  const [namespace, configMap] = root.split('/');
  return { name, keyless: { trustedRootRef: { namespace, name: configMap }, identities } };
}

async function verify(
  kind: RegistryKind,
  name: string,
  spec: Record<string, unknown> = {},
): Promise<VerificationResult> {
  const host = registries[kind].host;
  const digest = digests[kind][name];
  if (!digest) throw new Error(`no image ${name}`);
  const policy = signedByPolicy(build.publicKeyPem, { authorities: [keyless('alice', [ALICE])], ...spec });
  return await createVerifier({ registry: createRegistryClient(), readConfigMap })(
    {
      image: { original: `${host}/team/app@${digest}`, registry: host, repository: 'team/app', digest },
      policy,
      pullSecrets: [],
    },
    AbortSignal.timeout(30_000),
  );
}

beforeAll(async () => {
  tools = await registryTools();
  dir = mkdtempSync(join(tmpdir(), 'bulwark-keyless-'));
  [sigstore, other] = await Promise.all([startSigstoreStandIn(), startSigstoreStandIn()]);
  const data = (text: string) => new Map([['trusted_root.json', Buffer.from(text)]]);
  configMaps.set('trust/root', { type: 'ConfigMap', data: data(sigstore.trustedRoot), labels: LOCK });
  configMaps.set('trust/unlocked', { type: 'ConfigMap', data: data(sigstore.trustedRoot), labels: {} });
  configMaps.set('trust/garbage', { type: 'ConfigMap', data: data('{"tlogs": 3}'), labels: LOCK });
  build = await generateKeyPair(tools, join(dir, 'build'));
  signers.alice = await keylessSigner(tools, sigstore, join(dir, 'alice'), ALICE);
  signers.bob = await keylessSigner(tools, sigstore, join(dir, 'bob'), { issuer: ISSUER, subject: 'bob@example.com' });
  signers.expiring = await keylessSigner(tools, sigstore, join(dir, 'expiring'), ALICE, {
    notAfter: new Date(Date.now() + 5 * 60_000),
  });
  signers.noSct = await keylessSigner(tools, sigstore, join(dir, 'nosct'), ALICE, { withoutSct: true });
  signers.foreign = await keylessSigner(tools, other, join(dir, 'foreign'), ALICE);
  for (const kind of KINDS) {
    registries[kind] = await startRegistry(kind, tools, join(dir, kind));
    digests[kind] = {};
    const push = async (name: string) => {
      const digest = await pushRandomImage(tools, `${registries[kind].host}/team/app:${name}`, join(dir, 'layers'));
      digests[kind][name] = digest;
      return `${registries[kind].host}/team/app@${digest}`;
    };
    for (const format of FORMATS) {
      await cosignKeyless(tools, sigstore, signers.alice, await push(`alice-${format}`), format);
      await cosignKeyless(tools, sigstore, signers.alice, await push(`unlogged-${format}`), format, { log: false });
      // The log integrates the entry 10 minutes on: after the 5-minute certificate expired.
      const late = Math.floor(Date.now() / 1000) + 600;
      await cosignKeyless(tools, sigstore, signers.expiring, await push(`expired-${format}`), format, {
        integratedTime: late,
      });
      await cosignKeyless(tools, sigstore, signers.noSct, await push(`nosct-${format}`), format);
      await cosignKeyless(tools, sigstore, signers.foreign, await push(`foreign-${format}`), format);
      const both = await push(`alice-and-build-${format}`);
      await cosignKeyless(tools, sigstore, signers.alice, both, format);
      await cosignSign(tools, build, both, format);
    }
    const pair = await push('alice-and-bob');
    await cosignKeyless(tools, sigstore, signers.alice, pair, 'bundle');
    await cosignKeyless(tools, sigstore, signers.bob, pair, 'legacy');
    const twice = await push('alice-twice');
    await cosignKeyless(tools, sigstore, signers.alice, twice, 'bundle');
    await cosignKeyless(tools, sigstore, signers.alice, twice, 'legacy');
  }
}, 600_000);

afterAll(async () => {
  await Promise.all(KINDS.map((k) => registries[k]?.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(KINDS)('keyless on %s', (kind) => {
  describe.each(FORMATS)('%s format', (format) => {
    it('a certificate for the trusted identity, logged: verified, naming the identity', async () => {
      const result = await verify(kind, `alice-${format}`);
      expect(result).toMatchObject({ ok: true, authority: 'alice' });
      expect(result.ok && result.detail).toMatch(
        /keyless .*signed by alice@example.com \(issuer https:\/\/issuer.example.com\)/,
      );
    });

    it('identities by regular expression, matching the whole value', async () => {
      const ok = await verify(kind, `alice-${format}`, {
        authorities: [
          keyless('team', [
            { issuerRegExp: 'https://issuer\\.example\\.(com|org)', subjectRegExp: '.*@example\\.com' },
          ]),
        ],
      });
      expect(ok.ok).toBe(true);
      const partial = await verify(kind, `alice-${format}`, {
        authorities: [keyless('team', [{ issuer: ISSUER, subjectRegExp: 'alice' }])],
      });
      expect(partial).toMatchObject({ ok: false, failure: 'untrusted-signer' });
    });

    it('another subject: an untrusted signer, named', async () => {
      const result = await verify(kind, `alice-${format}`, {
        authorities: [keyless('bob', [{ issuer: ISSUER, subject: 'bob@example.com' }])],
      });
      expect(result).toMatchObject({ ok: false, failure: 'untrusted-signer' });
      expect(!result.ok && result.reason).toMatch(
        joinedRegExp(
          /signed keylessly by "alice@example.com" \(issuer "https:\/\/issuer.example.com"\), which is none of /,
          /the trusted identities \(issuer "https:\/\/issuer.example.com", subject "bob@example.com"\)/,
        ),
      );
    });

    it('another issuer: an untrusted signer, named', async () => {
      const result = await verify(kind, `alice-${format}`, {
        authorities: [
          keyless('alice', [{ issuer: 'https://token.actions.githubusercontent.com', subject: ALICE.subject }]),
        ],
      });
      expect(result).toMatchObject({ ok: false, failure: 'untrusted-signer' });
      expect(!result.ok && result.reason).toMatch(/\(issuer "https:\/\/issuer.example.com"\), which is none/);
    });

    it('no transparency-log entry: not genuine', async () => {
      const result = await verify(kind, `unlogged-${format}`);
      expect(result).toMatchObject({ ok: false, failure: 'not-genuine' });
      expect(!result.ok && result.reason).toMatch(/no transparency-log entry \(no Rekor inclusion proof or SET\)/);
    });

    it('a certificate expired when the log integrated the signature: not genuine', async () => {
      const result = await verify(kind, `expired-${format}`);
      expect(result).toMatchObject({ ok: false, failure: 'not-genuine' });
      expect(!result.ok && result.reason).toMatch(
        /does not chain to a certificate authority .* at signing time \(.*expired/,
      );
    });

    it('a certificate without SCT: not genuine', async () => {
      const result = await verify(kind, `nosct-${format}`);
      expect(result).toMatchObject({ ok: false, failure: 'not-genuine' });
      expect(!result.ok && result.reason).toMatch(/expected 1 SCTs, got 0/);
    });

    it('a certificate from a CA the trusted root does not hold: not genuine', async () => {
      const result = await verify(kind, `foreign-${format}`);
      expect(result).toMatchObject({ ok: false, failure: 'not-genuine' });
      expect(!result.ok && result.reason).toMatch(/does not chain to a certificate authority/);
    });

    it('a keyless identity and a key are two signers of a threshold', async () => {
      const spec = {
        threshold: 2,
        authorities: [keyless('alice', [ALICE]), { name: 'build', key: { publicKey: build.publicKeyPem } }],
      };
      expect(await verify(kind, `alice-and-build-${format}`, spec)).toMatchObject({
        ok: true,
        authority: 'alice,build',
      });
      const short = await verify(kind, `alice-${format}`, spec);
      expect(short).toMatchObject({ ok: false, failure: 'too-few-signers' });
      expect(!short.ok && short.reason).toMatch(/signed by alice; missing build; 1 more needed/);
    });
  });

  it('an authority accepting alice or bob counts bob when alice is counted for another', async () => {
    const result = await verify(kind, 'alice-and-bob', {
      threshold: 2,
      authorities: [
        keyless('alice', [ALICE]),
        keyless('team', [{ issuer: ISSUER, subjectRegExp: '(alice|bob)@example\\.com' }]),
      ],
    });
    expect(result).toMatchObject({ ok: true, authority: 'alice,team' });
    expect(result.ok && result.detail).toMatch(/team \(keyless .*signed by bob@example.com/);
  });

  it('one identity signing in both formats, under two authorities, counts once', async () => {
    const result = await verify(kind, 'alice-twice', {
      threshold: 2,
      authorities: [
        keyless('alice', [ALICE]),
        keyless('example', [{ issuer: ISSUER, subjectRegExp: '.*@example\\.com' }]),
      ],
    });
    expect(result).toMatchObject({ ok: false, failure: 'too-few-signers' });
    expect(!result.ok && result.reason).toMatch(/example \(the same identity as alice: counted once\)/);
  });
});

describe('the trusted root ConfigMap', () => {
  it('unlocked: nothing it would verify is admitted', async () => {
    const result = await verify('oci-registry', 'alice-bundle', {
      authorities: [keyless('alice', [ALICE], 'trust/unlocked')],
    });
    expect(result).toMatchObject({ ok: false, failure: 'configuration' });
    expect(!result.ok && result.reason).toMatch(/ConfigMap trust\/unlocked is not locked/);
  });

  it('missing or not a trusted root: a configuration failure that says so', async () => {
    const missing = await verify('oci-registry', 'alice-bundle', {
      authorities: [keyless('alice', [ALICE], 'trust/none')],
    });
    expect(!missing.ok && missing.reason).toMatch(/ConfigMap trust\/none does not exist/);
    const garbage = await verify('oci-registry', 'alice-bundle', {
      authorities: [keyless('alice', [ALICE], 'trust/garbage')],
    });
    expect(garbage).toMatchObject({ ok: false, failure: 'configuration' });
    expect(!garbage.ok && garbage.reason).toMatch(/trusted_root.json in ConfigMap trust\/garbage is/);
  });
});
