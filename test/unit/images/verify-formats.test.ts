// The two cosign signature formats, checked offline on signatures captured from the real
// cosign v3.1.3 (test/fixtures/signatures/README.md), and on variants derived from them.

import { createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { artifactTypeOf, parseManifest, type ImageManifest, type Manifest } from '../../../src/registry/manifest.ts';
import {
  BUNDLE_MEDIA_TYPE,
  checkBundle,
  checkStatement,
  referrersFallbackTag,
} from '../../../src/rules/images/cosign/bundle.ts';
import { keyHint, verifyRawSignature } from '../../../src/rules/images/cosign/keys.ts';
import {
  checkLegacySignature,
  checkSimpleSigningPayload,
  legacySignatureLayers,
  legacySignatureTag,
} from '../../../src/rules/images/cosign/legacy.ts';
import { FIXTURES_DIR } from '../../helpers/fixtures.ts';

const DIR = join(FIXTURES_DIR, 'signatures');
const read = (name: string) => readFileSync(join(DIR, name));
const DIGEST = 'sha256:e2755a77f7fc94f209ebae8a4666502118053d1aeb63f5b1844d0118bb3a689c';
const OTHER_DIGEST = `sha256:${'0'.repeat(64)}`;
const KEY = createPublicKey(read('cosign.pub'));
const OTHER_KEY = createPublicKey(read('other.pub'));

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function manifest(name: string, contentType?: string): Manifest {
  const bytes = read(name);
  const parsed = parseManifest(bytes, sha256(bytes), contentType);
  if ('problems' in parsed) throw new Error(parsed.problems.join('; '));
  return parsed.manifest;
}

function bundleJson(): Record<string, any> {
  return JSON.parse(read('bundle.json').toString('utf8'));
}

function legacyLayer(): { payload: Buffer; signature: string } {
  const [layer] = legacySignatureLayers(manifest('legacy-manifest.json') as ImageManifest);
  return { payload: read('legacy-payload.json'), signature: layer!.signature! };
}

describe('captured manifests', () => {
  it('the image manifest hashes to the image digest', () => {
    expect(sha256(read('image-manifest.json'))).toBe(DIGEST);
  });

  it('legacy: tag sha256-<hex>.sig holds an OCI manifest with one simple-signing layer', () => {
    expect(legacySignatureTag(DIGEST)).toBe(`sha256-${DIGEST.slice(7)}.sig`);
    const m = manifest('legacy-manifest.json');
    expect(m.kind).toBe('image');
    const layers = legacySignatureLayers(m as ImageManifest);
    expect(layers).toHaveLength(1);
    expect(layers[0]!.layer.digest).toBe(sha256(read('legacy-payload.json')));
    expect(layers[0]!.signature).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  it(
    "bundle: the referrers index reports the config media type; the manifest itself has the bundle's " + 'artifactType',
    () => {
      const index = manifest('referrers-index.json', 'application/vnd.oci.image.index.v1+json');
      expect(index.kind).toBe('index');
      expect(index.kind === 'index' && index.manifests[0]!.artifactType).toBe('application/vnd.oci.empty.v1+json');
      const referrer = manifest('bundle-manifest.json');
      expect(artifactTypeOf(referrer)).toBe(BUNDLE_MEDIA_TYPE);
      expect(referrer.subject?.digest).toBe(DIGEST);
      expect(referrer.kind === 'image' && referrer.layers[0]!.mediaType).toBe(BUNDLE_MEDIA_TYPE);
      expect(referrer.kind === 'image' && referrer.layers[0]!.digest).toBe(sha256(read('bundle.json')));
    },
  );

  it('bundle fallback: tag sha256-<hex> holds an index whose entries carry the artifactType', () => {
    expect(referrersFallbackTag(DIGEST)).toBe(`sha256-${DIGEST.slice(7)}`);
    const index = manifest('fallback-index.json');
    expect(index.kind === 'index' && index.manifests.map((d) => d.artifactType)).toEqual([BUNDLE_MEDIA_TYPE]);
  });
});

describe('legacy signatures', () => {
  it('verifies with the signing key and names the digest', () => {
    const { payload, signature } = legacyLayer();
    expect(checkLegacySignature(payload, signature, KEY, DIGEST)).toEqual({
      outcome: 'ok',
      detail: 'cosign legacy signature of 127.0.0.1:37599/fixtures/app',
    });
  });

  it(
    'another key: not genuine (a legacy signature does not name its key, so it cannot be told from an altered ' +
      'one)',
    () => {
      const { payload, signature } = legacyLayer();
      expect(checkLegacySignature(payload, signature, OTHER_KEY, DIGEST)).toEqual({
        outcome: 'not-genuine',
        reason:
          'a legacy signature does not verify with the key (altered, or made with another key: the legacy format ' +
          'does not name its key)',
      });
    },
  );

  it('another digest: wrong-digest (the signature is checked first, then what it signs)', () => {
    const { payload, signature } = legacyLayer();
    expect(checkLegacySignature(payload, signature, KEY, OTHER_DIGEST)).toEqual({
      outcome: 'wrong-digest',
      reason: `the signature is for ${DIGEST}, not ${OTHER_DIGEST}`,
    });
  });

  it('flipped signature bytes, an edited payload, a missing or non-base64 annotation: not genuine', () => {
    const { payload, signature } = legacyLayer();
    const flipped = Buffer.from(signature, 'base64');
    flipped[10]! ^= 0x01;
    expect(checkLegacySignature(payload, flipped.toString('base64'), KEY, DIGEST).outcome).toBe('not-genuine');
    const edited = Buffer.from(payload.toString('utf8').replace('"optional":null', '"optional":{}'));
    expect(checkLegacySignature(edited, signature, KEY, DIGEST).outcome).toBe('not-genuine');
    expect(checkLegacySignature(payload, undefined, KEY, DIGEST)).toMatchObject({
      outcome: 'not-genuine',
      reason: expect.stringContaining('has no dev.cosignproject.cosign/signature annotation'),
    });
    expect(checkLegacySignature(payload, '%%%', KEY, DIGEST)).toMatchObject({
      outcome: 'not-genuine',
      reason: 'a legacy signature annotation is not base64',
    });
  });
});

describe('simple-signing payloads (what a verified signature says)', () => {
  const payload = (doc: unknown) => Buffer.from(JSON.stringify(doc));
  const critical = (image: Record<string, unknown>, type = 'cosign container image signature') => ({
    critical: { identity: { 'docker-reference': 'r/x' }, image, type },
  });

  it('reads keys case-insensitively, as cosign (Go encoding/json) does', () => {
    expect(
      checkSimpleSigningPayload(
        payload({
          Critical: { Image: { 'Docker-Manifest-Digest': DIGEST }, Type: 'cosign container image signature' },
        }),
        DIGEST,
      ),
    ).toMatchObject({ outcome: 'ok' });
  });

  it('refuses conflicting spellings of one key', () => {
    const doc = {
      critical: {
        image: { 'docker-manifest-digest': DIGEST, 'Docker-Manifest-Digest': OTHER_DIGEST },
        type: 'cosign container image signature',
      },
    };
    expect(checkSimpleSigningPayload(payload(doc), DIGEST)).toMatchObject({
      outcome: 'wrong-digest',
      reason: expect.stringContaining('ambiguous'),
    });
  });

  it('compares the digest exactly', () => {
    expect(
      checkSimpleSigningPayload(payload(critical({ 'docker-manifest-digest': DIGEST.toUpperCase() })), DIGEST).outcome,
    ).toBe('wrong-digest');
    expect(
      checkSimpleSigningPayload(payload(critical({ 'docker-manifest-digest': `${DIGEST} ` })), DIGEST).outcome,
    ).toBe('wrong-digest');
  });

  it('needs the cosign signature type and a digest', () => {
    expect(
      checkSimpleSigningPayload(
        payload(critical({ 'docker-manifest-digest': DIGEST }, 'atomic container signature')),
        DIGEST,
      ),
    ).toMatchObject({
      outcome: 'wrong-digest',
      reason: expect.stringContaining('not a cosign container image signature'),
    });
    expect(checkSimpleSigningPayload(payload(critical({})), DIGEST)).toMatchObject({
      outcome: 'wrong-digest',
      reason: expect.stringContaining('names no critical.image.docker-manifest-digest'),
    });
    expect(checkSimpleSigningPayload(Buffer.from('not json'), DIGEST)).toMatchObject({
      outcome: 'wrong-digest',
      reason: 'the signed payload is not JSON',
    });
  });
});

describe('sigstore bundles', () => {
  it('verifies with the signing key (no transparency log, no timestamps) and names the digest', () => {
    expect(checkBundle(bundleJson(), KEY, DIGEST)).toEqual({ outcome: 'ok', detail: 'sigstore bundle' });
  });

  it("the public-key hint is cosign's: base64 SHA-256 of the key's SPKI", () => {
    expect(bundleJson().verificationMaterial.publicKey.hint).toBe(keyHint(KEY));
  });

  it('another key: an untrusted signer, named by the key hint the bundle carries', () => {
    expect(checkBundle(bundleJson(), OTHER_KEY, DIGEST)).toEqual({
      outcome: 'untrusted-signer',
      reason: `a sigstore bundle is signed with another key than the trusted one (key hint ${keyHint(KEY)})`,
    });
  });

  it(
    'the trusted key named but a signature that does not verify with it: not genuine, even with no hint at ' + 'all',
    () => {
      const flipped = bundleJson();
      const sig = Buffer.from(flipped.dsseEnvelope.signatures[0].sig, 'base64');
      sig[sig.length - 1]! ^= 0x01;
      flipped.dsseEnvelope.signatures[0].sig = sig.toString('base64');
      expect(checkBundle(flipped, KEY, DIGEST)).toEqual({
        outcome: 'not-genuine',
        reason: 'a sigstore bundle does not verify with the key it names: signature verification failed',
      });
      const unnamed = bundleJson();
      delete unnamed.verificationMaterial.publicKey.hint;
      expect(checkBundle(unnamed, OTHER_KEY, DIGEST)).toMatchObject({ outcome: 'not-genuine' });
    },
  );

  it('another digest: wrong-digest', () => {
    expect(checkBundle(bundleJson(), KEY, OTHER_DIGEST)).toEqual({
      outcome: 'wrong-digest',
      reason: `the signature is for ${DIGEST}, not ${OTHER_DIGEST}`,
    });
  });

  it('a tampered statement or signature: not genuine', () => {
    const b = bundleJson();
    const statement = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8'));
    statement.subject[0].digest.sha256 = OTHER_DIGEST.slice(7);
    b.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    expect(checkBundle(b, KEY, OTHER_DIGEST)).toMatchObject({ outcome: 'not-genuine' });
    const c = bundleJson();
    const sig = Buffer.from(c.dsseEnvelope.signatures[0].sig, 'base64');
    sig[sig.length - 1]! ^= 0x01;
    c.dsseEnvelope.signatures[0].sig = sig.toString('base64');
    expect(checkBundle(c, KEY, DIGEST)).toMatchObject({ outcome: 'not-genuine' });
  });

  it('malformed bundles are not genuine; keyless ones are signed by no trusted key', () => {
    expect(checkBundle({ mediaType: BUNDLE_MEDIA_TYPE }, KEY, DIGEST)).toMatchObject({
      outcome: 'not-genuine',
      reason: expect.stringContaining('a sigstore bundle is malformed'),
    });
    expect(checkBundle('garbage', KEY, DIGEST)).toMatchObject({ outcome: 'not-genuine' });
    const keyless = bundleJson();
    keyless.verificationMaterial = {
      certificate: { rawBytes: Buffer.from('not a certificate').toString('base64') },
      tlogEntries: [],
    };
    expect(checkBundle(keyless, KEY, DIGEST).outcome).toBe('untrusted-signer');
  });

  it('checks the statement: in-toto payload type, cosign predicate, sha256 subject', () => {
    const statement = (s: Record<string, unknown>) =>
      Buffer.from(
        JSON.stringify({
          _type: 'https://in-toto.io/Statement/v1',
          predicateType: 'https://sigstore.dev/cosign/sign/v1',
          subject: [{ digest: { sha256: DIGEST.slice(7) } }],
          ...s,
        }),
      );
    expect(checkStatement('application/vnd.in-toto+json', statement({}), DIGEST)).toEqual({
      outcome: 'ok',
      detail: 'sigstore bundle',
    });
    expect(
      checkStatement('application/vnd.in-toto+json', statement({ _type: 'https://in-toto.io/Statement/v0.1' }), DIGEST)
        .outcome,
    ).toBe('ok');
    expect(checkStatement('application/json', statement({}), DIGEST)).toMatchObject({
      outcome: 'wrong-digest',
      reason: expect.stringContaining('not an in-toto statement'),
    });
    expect(
      checkStatement(
        'application/vnd.in-toto+json',
        statement({ predicateType: 'https://slsa.dev/provenance/v1' }),
        DIGEST,
      ),
    ).toMatchObject({ outcome: 'wrong-digest', reason: expect.stringContaining('predicateType') });
    expect(
      checkStatement('application/vnd.in-toto+json', statement({ subject: [{ digest: { sha512: 'ab' } }] }), DIGEST),
    ).toMatchObject({ outcome: 'wrong-digest', reason: 'the signed statement names no sha256 subject' });
    expect(
      checkStatement(
        'application/vnd.in-toto+json',
        statement({ subject: [{ digest: { sha256: 'ab' } }, { digest: { sha256: DIGEST.slice(7) } }] }),
        DIGEST,
      ).outcome,
    ).toBe('ok');
  });
});

describe('ECDSA P-384 (cosign import-key-pair of a P-384 key: cosign hashes with SHA-384)', () => {
  const P384_DIGEST = 'sha256:59d82fab660ea4f8cfccb7bc99de02a7f891b1ae829d1f1c1d5db66083658d0e';
  const P384 = createPublicKey(read('p384.pub'));

  it('legacy signature', () => {
    const [layer] = legacySignatureLayers(manifest('p384-legacy-manifest.json') as ImageManifest);
    expect(checkLegacySignature(read('p384-legacy-payload.json'), layer!.signature, P384, P384_DIGEST)).toMatchObject({
      outcome: 'ok',
    });
  });

  it('sigstore bundle (which @sigstore/verify alone checks over SHA-256)', () => {
    const bundle = JSON.parse(read('p384-bundle.json').toString('utf8'));
    expect(checkBundle(bundle, P384, P384_DIGEST)).toEqual({ outcome: 'ok', detail: 'sigstore bundle' });
    expect(checkBundle(bundle, KEY, P384_DIGEST)).toMatchObject({ outcome: 'untrusted-signer' });
    const sig = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64');
    sig[20]! ^= 0x01;
    bundle.dsseEnvelope.signatures[0].sig = sig.toString('base64');
    expect(checkBundle(bundle, P384, P384_DIGEST)).toMatchObject({ outcome: 'not-genuine' });
  });
});

describe('raw signatures for the key types policies accept', () => {
  const data = Buffer.from('payload');
  const cases: [string, () => { publicKey: KeyObject; privateKey: KeyObject }, string | null][] = [
    ['ECDSA P-256 / SHA-256', () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }), 'sha256'],
    ['ECDSA P-384 / SHA-384', () => generateKeyPairSync('ec', { namedCurve: 'secp384r1' }), 'sha384'],
    ['ECDSA P-384 / SHA-256', () => generateKeyPairSync('ec', { namedCurve: 'secp384r1' }), 'sha256'],
    ['RSA 2048 PKCS#1 v1.5 / SHA-256', () => generateKeyPairSync('rsa', { modulusLength: 2048 }), 'sha256'],
    ['Ed25519', () => generateKeyPairSync('ed25519'), null],
  ];
  it.each(cases)('%s', (_name, make, hash) => {
    const { publicKey, privateKey } = make();
    const signature = sign(hash, data, privateKey);
    expect(verifyRawSignature(publicKey, data, signature)).toBe(true);
    expect(verifyRawSignature(publicKey, Buffer.from('other'), signature)).toBe(false);
    expect(verifyRawSignature(publicKey, data, Buffer.from('junk'))).toBe(false);
  });
});
