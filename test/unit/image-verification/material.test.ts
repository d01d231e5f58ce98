// The material a verification depends on, and its fingerprint (the cache key's last
// part): it changes with the key in a Secret, with the registry credentials a pod brings,
// and not with anything else.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ReadSecret, SecretData } from '../../../src/cluster/secrets.ts';
import type { CompiledImagePolicy } from '../../../src/policy/compiled.ts';
import { cachedVerifier } from '../../../src/image-verification/cache.ts';
import { resolveMaterial, type VerificationMaterial } from '../../../src/image-verification/material.ts';
import type { StagedVerifier } from '../../../src/image-verification/verify.ts';
import type { VerificationResult } from '../../../src/decision/facts.ts';
import type { VerificationTask } from '../../../src/rules/images/verification.ts';
import { FIXTURES_DIR } from '../../helpers/fixtures.ts';
import { P256_PUBLIC_KEY, imagePolicy } from '../../helpers/policies.ts';
import { compiler } from '../../helpers/snapshots.ts';

const OTHER_KEY = readFileSync(join(FIXTURES_DIR, 'signatures', 'other.pub'), 'utf8');
const LOCK = { key: 'bulwark.dev/immutable', value: 'true' };
const signal = () => AbortSignal.timeout(1000);

function policy(spec: Record<string, unknown>): CompiledImagePolicy {
  const r = compiler.image(imagePolicy('p', { images: ['**'], ...spec }));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.policy;
}

const task = (p: CompiledImagePolicy, pullSecrets: VerificationTask['pullSecrets'] = []): VerificationTask => ({
  image: { original: 'r.local/a@x', registry: 'r.local', repository: 'a', digest: `sha256:${'a'.repeat(64)}` },
  policy: p,
  pullSecrets,
});

/** Secrets by `namespace/name`, decoded as the Secret source would. */
function secrets(
  entries: Record<string, { data: Record<string, string>; labels?: Record<string, string>; type?: string }>,
): ReadSecret {
  return async (ref) => {
    const s = entries[`${ref.namespace}/${ref.name}`];
    if (!s) return undefined;
    return {
      type: s.type ?? 'Opaque',
      labels: s.labels ?? {},
      data: new Map(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v)])),
    } satisfies SecretData;
  };
}

const dockerConfig = (password: string) => JSON.stringify({ auths: { 'r.local': { username: 'robot', password } } });

describe('the material fingerprint', () => {
  const fromSecret = policy({
    authorities: [{ name: 'release', key: { secretRef: { namespace: 'keys', name: 'cosign' } } }],
  });

  it('changes when the key in the Secret is rotated', async () => {
    const before = await resolveMaterial(
      task(fromSecret),
      secrets({ 'keys/cosign': { data: { 'cosign.pub': P256_PUBLIC_KEY }, labels: { [LOCK.key]: LOCK.value } } }),
      LOCK,
      signal(),
    );
    const after = await resolveMaterial(
      task(fromSecret),
      secrets({ 'keys/cosign': { data: { 'cosign.pub': OTHER_KEY }, labels: { [LOCK.key]: LOCK.value } } }),
      LOCK,
      signal(),
    );
    const again = await resolveMaterial(
      task(fromSecret),
      secrets({
        'keys/cosign': { data: { 'cosign.pub': P256_PUBLIC_KEY }, labels: { [LOCK.key]: LOCK.value, other: 'label' } },
      }),
      LOCK,
      signal(),
    );
    expect(before.fingerprint).not.toBe(after.fingerprint);
    expect(again.fingerprint).toBe(before.fingerprint);
  });

  it('differs between no pull credentials, some, and other ones', async () => {
    const inline = policy({ authorities: [{ name: 'release', key: { publicKey: P256_PUBLIC_KEY } }] });
    const read = secrets({
      'shop/pull': { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': dockerConfig('a') } },
      'team/pull': { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': dockerConfig('b') } },
      'same/pull': { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': dockerConfig('a') } },
    });
    const none = await resolveMaterial(task(inline), read, LOCK, signal());
    const shop = await resolveMaterial(task(inline, [{ namespace: 'shop', name: 'pull' }]), read, LOCK, signal());
    const team = await resolveMaterial(task(inline, [{ namespace: 'team', name: 'pull' }]), read, LOCK, signal());
    const same = await resolveMaterial(task(inline, [{ namespace: 'same', name: 'pull' }]), read, LOCK, signal());
    const absent = await resolveMaterial(task(inline, [{ namespace: 'shop', name: 'absent' }]), read, LOCK, signal());
    expect(new Set([none.fingerprint, shop.fingerprint, team.fingerprint]).size).toBe(3);
    // The same credentials from another namespace verify the same; a missing pull Secret is no credential.
    expect(same.fingerprint).toBe(shop.fingerprint);
    expect(absent.fingerprint).toBe(none.fingerprint);
  });

  it(
    'keeps an unsigned verdict obtained without credentials from a pod that brings some, and the ' + 'reverse',
    async () => {
      // A registry that shows signatures only to those who log in: what it says depends on who asks.
      const inline = policy({ authorities: [{ name: 'release', key: { publicKey: P256_PUBLIC_KEY } }] });
      const read = secrets({
        'shop/pull': { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': dockerConfig('a') } },
      });
      let checks = 0;
      const verifier: StagedVerifier = Object.assign(
        async () => {
          throw new Error('called through its stages');
        },
        {
          material: (t: VerificationTask, s: AbortSignal) => resolveMaterial(t, read, LOCK, s),
          check: async (_t: VerificationTask, m: VerificationMaterial): Promise<VerificationResult> => {
            checks++;
            const loggedIn = !('problem' in m.access) && m.access.credentials.length > 0;
            return loggedIn
              ? { ok: true, authority: 'release', detail: 'sigstore bundle' }
              : { ok: false, failure: 'unsigned', reason: 'no signature visible' };
          },
        },
      );
      const cached = cachedVerifier(verifier);
      expect(await cached.verify(task(inline), signal())).toMatchObject({ ok: false, failure: 'unsigned' });
      expect(await cached.verify(task(inline, [{ namespace: 'shop', name: 'pull' }]), signal())).toMatchObject({
        ok: true,
      });
      expect(await cached.verify(task(inline), signal())).toMatchObject({ ok: false, failure: 'unsigned' });
      expect(checks).toBe(2);
    },
  );

  it('differs with the CA bundle and the plain-HTTP flag', async () => {
    const key = { authorities: [{ name: 'release', key: { publicKey: P256_PUBLIC_KEY } }] };
    const tls = await resolveMaterial(task(policy(key)), undefined, LOCK, signal());
    const http = await resolveMaterial(
      task(policy({ ...key, registry: { insecure: true } })),
      undefined,
      LOCK,
      signal(),
    );
    expect(tls.fingerprint).not.toBe(http.fingerprint);
  });

  it('a key Secret without the lock label yields no key', async () => {
    const m = await resolveMaterial(
      task(fromSecret),
      secrets({ 'keys/cosign': { data: { 'cosign.pub': P256_PUBLIC_KEY }, labels: { [LOCK.key]: 'false' } } }),
      LOCK,
      signal(),
    );
    expect(m.keys[0]!.key).toEqual({
      problem: expect.stringMatching(
        /^the key Secret keys\/cosign is not locked \(labelled bulwark\.dev\/immutable=true\)/,
      ),
    });
  });

  it('is made once per policy version and registry when it reads nothing, and read again when it does', async () => {
    const inline = policy({ authorities: [{ name: 'release', key: { publicKey: P256_PUBLIC_KEY } }] });
    const first = await resolveMaterial(task(inline), undefined, LOCK, signal());
    expect(await resolveMaterial(task(inline), undefined, LOCK, signal())).toBe(first);
    const otherHost = { ...task(inline), image: { ...task(inline).image, registry: 'other.local' } };
    expect((await resolveMaterial(otherHost, undefined, LOCK, signal())).fingerprint).not.toBe(first.fingerprint);
    // A pod's pull Secrets, or a key in a Secret, are read on every request.
    let reads = 0;
    const counting: ReadSecret = async (ref) => {
      reads++;
      return secrets({
        'keys/cosign': { data: { 'cosign.pub': P256_PUBLIC_KEY }, labels: { [LOCK.key]: LOCK.value } },
      })(ref, signal());
    };
    await resolveMaterial(task(inline, [{ namespace: 'demo', name: 'pull' }]), counting, LOCK, signal());
    await resolveMaterial(task(inline, [{ namespace: 'demo', name: 'pull' }]), counting, LOCK, signal());
    await resolveMaterial(task(fromSecret), counting, LOCK, signal());
    await resolveMaterial(task(fromSecret), counting, LOCK, signal());
    expect(reads).toBe(4);
  });
});
