// The verifier when registries misbehave or need more than anonymous HTTP: down, 5xx,
// garbage, other bytes than asked for, too slow for the deadline; bearer tokens
// (anonymous and with credentials), basic credentials from the policy's Secret and the
// pod's pull Secrets, TLS with a custom CA, keys from Secrets (and their rotation).
// Behind the fronts is a real registry with real cosign signatures.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretSource, type ReadSecret } from '../../../src/cluster/secrets.ts';
import type { KubeReader } from '../../../src/cluster/kube-client.ts';
import type { CompiledImagePolicy } from '../../../src/policy/compiled.ts';
import { createRegistryClient, type RegistryClient } from '../../../src/registry/client.ts';
import type { VerificationResult } from '../../../src/decision/facts.ts';
import type { VerificationTask } from '../../../src/rules/images/verification.ts';
import { createVerifier } from '../../../src/image-verification/verify.ts';
import { generateCertificates } from '../../../src/server/certificates.ts';
import { freePort } from '../../../harness/ports.ts';
import {
  cosignSign,
  generateKeyPair,
  pushRandomImage,
  registryTools,
  signedByPolicy,
  startFront,
  startRegistry,
  type FrontOptions,
  type KeyPair,
  type RegistryTools,
  type TestFront,
  type TestRegistry,
} from '../../e2e/helpers/registry.ts';

const REPO = 'demo/app';
let tools: RegistryTools;
let dir: string;
let registry: TestRegistry;
let trusted: KeyPair;
let other: KeyPair;
let bundleSigned: string;
let legacySigned: string;
const fronts: TestFront[] = [];

function policy(spec: Record<string, unknown> = {}): CompiledImagePolicy {
  return signedByPolicy(trusted.publicKeyPem, spec);
}

interface Run {
  policy?: CompiledImagePolicy;
  client?: RegistryClient;
  readSecret?: ReadSecret;
  pullSecrets?: VerificationTask['pullSecrets'];
  signal?: AbortSignal;
  digest?: string;
}

async function verify(host: string, run: Run = {}): Promise<VerificationResult> {
  const client = run.client ?? createRegistryClient();
  try {
    const verifier = createVerifier({ registry: client, ...(run.readSecret ? { readSecret: run.readSecret } : {}) });
    const digest = run.digest ?? bundleSigned;
    return await verifier(
      {
        image: { original: `${host}/${REPO}@${digest}`, registry: host, repository: REPO, digest },
        policy: run.policy ?? policy(),
        pullSecrets: run.pullSecrets ?? [],
      },
      run.signal ?? AbortSignal.timeout(10_000),
    );
  } finally {
    if (!run.client) client.close();
  }
}

async function front(options: FrontOptions): Promise<TestFront> {
  const f = await startFront(options);
  fronts.push(f);
  return f;
}

/** A KubeReader over an in-memory map of API paths, with a GET counter. */
function fakeKube(objects: Map<string, unknown>): Pick<KubeReader, 'getJson'> & { gets: number } {
  const kube = {
    gets: 0,
    async getJson(path: string) {
      kube.gets++;
      return structuredClone(objects.get(path));
    },
  };
  return kube;
}

function secretPath(namespace: string, name: string): string {
  return `/api/v1/namespaces/${namespace}/secrets/${name}`;
}

function dockerConfigSecret(
  host: string,
  username: string,
  password: string,
  style: 'auth' | 'fields' = 'auth',
): unknown {
  const entry =
    style === 'auth' ? { auth: Buffer.from(`${username}:${password}`).toString('base64') } : { username, password };
  const config = { auths: { [style === 'auth' ? host : `https://${host}/v1/`]: entry } };
  return {
    kind: 'Secret',
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify(config)).toString('base64') },
  };
}

beforeAll(async () => {
  tools = await registryTools();
  dir = mkdtempSync(join(tmpdir(), 'bulwark-faults-'));
  [registry, trusted, other] = await Promise.all([
    startRegistry('oci-registry', tools, join(dir, 'registry')),
    generateKeyPair(tools, join(dir, 'trusted')),
    generateKeyPair(tools, join(dir, 'other')),
  ]);
  bundleSigned = await pushRandomImage(tools, `${registry.host}/${REPO}:bundle`, join(dir, 'layers'));
  legacySigned = await pushRandomImage(tools, `${registry.host}/${REPO}:legacy`, join(dir, 'layers'));
  await Promise.all([
    cosignSign(tools, trusted, `${registry.host}/${REPO}@${bundleSigned}`, 'bundle'),
    cosignSign(tools, trusted, `${registry.host}/${REPO}@${legacySigned}`, 'legacy'),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all(fronts.map((f) => f.close()));
  await registry?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('registry faults', () => {
  it('a registry that is down is a registry-error at once (no waiting for the deadline)', async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const result = await verify(host, { signal: new AbortController().signal });
    expect(result).toMatchObject({
      ok: false,
      failure: 'registry-error',
      reason: expect.stringContaining(`registry ${host} could not be reached for manifest ${REPO}:sha256-`),
    });
    expect(!result.ok && result.reason).toContain('ECONNREFUSED');
  });

  it('HTTP 503 is a registry-error naming the registry, the status and the request', async () => {
    const f = await front({
      intercept: (_req, res) => {
        res
          .writeHead(503, { 'content-type': 'application/json' })
          .end('{"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}');
        return true;
      },
    });
    const result = await verify(f.host);
    expect(result).toMatchObject({ ok: false, failure: 'registry-error' });
    expect(!result.ok && result.reason).toContain(
      `registry ${f.host} answered HTTP 503 for manifest ${REPO}:sha256-${bundleSigned.slice(7)}.sig: ` +
        `UNAVAILABLE: maintenance`,
    );
  });

  it('garbage where a manifest or index belongs is a registry-error', async () => {
    const f = await front({
      intercept: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end('<html>hello</html>');
        return true;
      },
    });
    const result = await verify(f.host);
    expect(result).toMatchObject({
      ok: false,
      failure: 'registry-error',
      reason: expect.stringContaining('with an invalid manifest: not JSON'),
    });
  });

  it('a registry returning other bytes than the digest asked for is a registry-error', async () => {
    const f = await front({
      upstream: registry.host,
      intercept: (req, res) => {
        if (!req.url?.includes('/blobs/')) return false;
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('{"not":"the blob"}');
        return true;
      },
    });
    const result = await verify(f.host, { digest: legacySigned });
    expect(result).toMatchObject({
      ok: false,
      failure: 'registry-error',
      reason: expect.stringMatching(/answered blob demo\/app@sha256:[0-9a-f]{64} with content whose digest is sha256:/),
    });
  });

  it('an oversized manifest is refused while reading', async () => {
    const f = await front({
      intercept: (_req, res) => {
        res
          .writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' })
          .end(Buffer.alloc(5 * 1024 * 1024, 0x20));
        return true;
      },
    });
    const result = await verify(f.host);
    expect(result).toMatchObject({
      ok: false,
      failure: 'registry-error',
      reason: expect.stringContaining('more than the limit of 4194304'),
    });
  });

  it('a registry too slow for the deadline is a timeout, as soon as the deadline passes', async () => {
    const f = await front({ intercept: () => true }); // never answers
    const deadline = new AbortController();
    const result = verify(f.host, { signal: deadline.signal });
    while (f.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    deadline.abort(new Error('the decision deadline passed'));
    expect(await result).toMatchObject({
      ok: false,
      failure: 'timeout',
      reason: expect.stringContaining(`waiting for registry ${f.host}`),
    });
  });

  it('a slow registry within the deadline is fine', async () => {
    const f = await front({
      upstream: registry.host,
      intercept: async () => {
        await new Promise((r) => setTimeout(r, 50));
        return false;
      },
    });
    expect(await verify(f.host, { signal: AbortSignal.timeout(2000) })).toMatchObject({ ok: true });
  });
});

describe('authentication', () => {
  it('anonymous bearer tokens: one token request per scope, reused until expiry', async () => {
    const f = await front({ upstream: registry.host, auth: { kind: 'bearer' } });
    const client = createRegistryClient();
    expect(await verify(f.host, { client })).toMatchObject({ ok: true });
    const tokenRequests = () => f.requests.filter((r) => r.url.startsWith('/token')).length;
    expect(tokenRequests()).toBe(1);
    expect(f.requests.find((r) => r.url.startsWith('/token'))?.url).toContain(
      `scope=repository%3A${encodeURIComponent(REPO)}%3Apull`,
    );
    const before = f.requests.length;
    expect(await verify(f.host, { client, digest: legacySigned })).toMatchObject({ ok: true });
    expect(tokenRequests()).toBe(1);
    // Known challenge and cached token: no 401 round trips the second time.
    expect(f.requests.slice(before).every((r) => r.authorization?.startsWith('Bearer '))).toBe(true);
    client.close();
  });

  it('bearer tokens with credentials from the policy Secret; wrong credentials are refused', async () => {
    const f = await front({ upstream: registry.host, auth: { kind: 'bearer', username: 'robot', password: 's3cret' } });
    const objects = new Map<string, unknown>([
      [secretPath('ci', 'creds'), dockerConfigSecret(f.host, 'robot', 's3cret')],
    ]);
    const readSecret = createSecretSource({ kube: fakeKube(objects) });
    const p = policy({ registry: { insecure: true, credentialsSecretRef: { namespace: 'ci', name: 'creds' } } });
    expect(await verify(f.host, { policy: p, readSecret })).toMatchObject({ ok: true });
    expect(
      f.requests
        .filter((r) => r.url.startsWith('/token'))
        .every((r) => r.authorization === `Basic ${Buffer.from('robot:s3cret').toString('base64')}`),
    ).toBe(true);

    objects.set(secretPath('ci', 'wrong'), dockerConfigSecret(f.host, 'robot', 'nope'));
    const wrong = policy({ registry: { insecure: true, credentialsSecretRef: { namespace: 'ci', name: 'wrong' } } });
    const result = await verify(f.host, { policy: wrong, readSecret });
    expect(result).toMatchObject({
      ok: false,
      failure: 'registry-error',
      reason: expect.stringContaining(
        `the token service of registry ${f.host} (http://${f.host}) refused the credentials from Secret ` +
          `ci/wrong: HTTP 401 UNAUTHORIZED: bad credentials`,
      ),
    });
  });

  it('never quotes a malformed .dockerconfigjson: its password stays out of the reason and the error', async () => {
    const f = await front({ upstream: registry.host, auth: { kind: 'basic', username: 'puller', password: 'pw' } });
    const password = 'hunter2-Sup3rSecret';
    // A trailing comma: JSON.parse's message would quote the text around it, password included.
    const text = `{"auths":{"${f.host}":{"username":"puller","password":"${password}",}}}`;
    const objects = new Map<string, unknown>([
      [
        secretPath('ci', 'broken'),
        {
          kind: 'Secret',
          type: 'kubernetes.io/dockerconfigjson',
          data: { '.dockerconfigjson': Buffer.from(text).toString('base64') },
        },
      ],
    ]);
    const readSecret = createSecretSource({ kube: fakeKube(objects) });
    const p = policy({ registry: { insecure: true, credentialsSecretRef: { namespace: 'ci', name: 'broken' } } });
    const result = await verify(f.host, { policy: p, readSecret });
    expect(result).toMatchObject({
      ok: false,
      reason: expect.stringMatching(
        /Secret ci\/broken is not a Docker config: not valid JSON \(at character \d+ of \d+\)/,
      ),
    });
    const everything = JSON.stringify(result, (_k, v) => (v instanceof Error ? { m: v.message, c: v.cause } : v));
    expect(everything).not.toContain(password);
    expect(everything).not.toContain('hunter2');
  });

  it('basic credentials from the pod pull Secrets (missing ones skipped, URL-style keys matched)', async () => {
    const f = await front({ upstream: registry.host, auth: { kind: 'basic', username: 'puller', password: 'pw' } });
    const objects = new Map<string, unknown>([
      [secretPath('shop', 'pull'), dockerConfigSecret(f.host, 'puller', 'pw', 'fields')],
    ]);
    const readSecret = createSecretSource({ kube: fakeKube(objects) });
    const pullSecrets = [
      { namespace: 'shop', name: 'absent' },
      { namespace: 'shop', name: 'pull' },
    ];
    expect(await verify(f.host, { readSecret, pullSecrets })).toMatchObject({ ok: true });
    const anonymous = await verify(f.host, { readSecret, pullSecrets: [{ namespace: 'shop', name: 'absent' }] });
    expect(anonymous).toMatchObject({
      ok: false,
      failure: 'registry-error',
      reason: expect.stringContaining(`registry ${f.host} refused anonymous access for manifest`),
    });
  });

  it('a missing credentials Secret of the policy is a configuration failure', async () => {
    const readSecret = createSecretSource({ kube: fakeKube(new Map()) });
    const p = policy({ registry: { insecure: true, credentialsSecretRef: { namespace: 'ci', name: 'gone' } } });
    expect(await verify(registry.host, { policy: p, readSecret })).toEqual({
      ok: false,
      failure: 'configuration',
      reason: "the policy's registry credentials, Secret ci/gone does not exist",
    });
  });

  it('TLS with the policy CA bundle; without it the certificate is refused', async () => {
    const certs = await generateCertificates({ ipAddresses: ['127.0.0.1'] });
    const f = await front({ upstream: registry.host, tls: { certPem: certs.certPem, keyPem: certs.keyPem } });
    const withCa = policy({ registry: { caBundle: certs.caCertPem } });
    expect(await verify(f.host, { policy: withCa })).toMatchObject({ ok: true });
    const without = await verify(f.host, { policy: policy({ registry: {} }) });
    expect(without).toMatchObject({
      ok: false,
      failure: 'registry-error',
      reason: expect.stringMatching(
        new RegExp(`registry ${f.host} could not be reached for .*(certificate|SELF_SIGNED)`, 'i'),
      ),
    });
  });
});

/** A key Secret as the apiserver returns it; locked (labelled) unless said otherwise. */
function keySecret(pem: string, locked = true): unknown {
  return {
    type: 'Opaque',
    metadata: { labels: locked ? { 'bulwark.dev/immutable': 'true' } : { team: 'release' } },
    data: { 'cosign.pub': Buffer.from(pem).toString('base64') },
  };
}

describe('keys from Secrets', () => {
  it('reads the key from a Secret, picks up rotation after the TTL, and reports a missing Secret', async () => {
    let now = 1_000_000;
    const objects = new Map<string, unknown>([[secretPath('bulwark-system', 'cosign'), keySecret(other.publicKeyPem)]]);
    const kube = fakeKube(objects);
    const readSecret = createSecretSource({ kube, ttlMs: 10_000, now: () => now });
    const p = policy({
      authorities: [{ name: 'release', key: { secretRef: { namespace: 'bulwark-system', name: 'cosign' } } }],
    });
    expect(await verify(registry.host, { policy: p, readSecret })).toMatchObject({
      ok: false,
      failure: 'untrusted-signer',
    });
    // Rotated to the right key: still cached within the TTL, used after it.
    objects.set(secretPath('bulwark-system', 'cosign'), keySecret(trusted.publicKeyPem));
    expect(await verify(registry.host, { policy: p, readSecret })).toMatchObject({
      ok: false,
      failure: 'untrusted-signer',
    });
    expect(kube.gets).toBe(1);
    now += 10_001;
    expect(await verify(registry.host, { policy: p, readSecret })).toMatchObject({ ok: true, authority: 'release' });
    expect(kube.gets).toBe(2);

    objects.delete(secretPath('bulwark-system', 'cosign'));
    now += 10_001;
    expect(await verify(registry.host, { policy: p, readSecret })).toEqual({
      ok: false,
      failure: 'configuration',
      reason: 'Secret bulwark-system/cosign does not exist',
    });
    const wrongKey = policy({
      authorities: [{ name: 'release', key: { secretRef: { namespace: 'ci', name: 'creds', key: 'cosign.pub' } } }],
    });
    objects.set(secretPath('ci', 'creds'), { type: 'Opaque', data: { other: 'eA==' } });
    expect(await verify(registry.host, { policy: wrongKey, readSecret })).toEqual({
      ok: false,
      failure: 'configuration',
      reason: 'Secret ci/creds has no key "cosign.pub" (keys: other)',
    });
  });

  it('a key Secret without the lock label is not trusted: anyone who can write it could swap the key', async () => {
    const objects = new Map<string, unknown>([
      [secretPath('release', 'cosign'), keySecret(trusted.publicKeyPem, false)],
    ]);
    const readSecret = createSecretSource({ kube: fakeKube(objects) });
    const p = policy({
      authorities: [{ name: 'release', key: { secretRef: { namespace: 'release', name: 'cosign' } } }],
    });
    expect(await verify(registry.host, { policy: p, readSecret })).toEqual({
      ok: false,
      failure: 'configuration',
      reason:
        'the key Secret release/cosign is not locked (labelled bulwark.dev/immutable=true), so anyone who can ' +
        'write it could swap the trusted key; lock it (kubectl bulwark lock secret/cosign -n release) and ' +
        'rotate keys through an UnlockRequest',
    });
  });

  it('without a cluster connection a secretRef key is a configuration failure', async () => {
    const p = policy({
      authorities: [{ name: 'release', key: { secretRef: { namespace: 'bulwark-system', name: 'cosign' } } }],
    });
    expect(await verify(registry.host, { policy: p })).toMatchObject({
      ok: false,
      failure: 'configuration',
      reason: expect.stringContaining('no cluster connection'),
    });
  });
});
