// Reading key and credential Secrets through KubeReader: decoded data, a short cache
// (found and not-found alike), merged concurrent reads, failures not cached, aborts.

import { describe, expect, it } from 'vitest';
import type { KubeReader } from '../../../src/cluster/kube-client.ts';
import { createSecretSource, decodeSecret, dockerConfigText, secretText } from '../../../src/cluster/secrets.ts';

function kube(answer: (path: string) => Promise<unknown>): Pick<KubeReader, 'getJson'> & { paths: string[] } {
  const paths: string[] = [];
  return {
    paths,
    getJson: (path) => {
      paths.push(path);
      return answer(path);
    },
  };
}

const ref = { namespace: 'ns', name: 'keys' };
const signal = () => AbortSignal.timeout(5000);

describe('createSecretSource', () => {
  it('GETs the Secret by path and decodes data (and stringData)', async () => {
    const k = kube(async () => ({
      type: 'Opaque',
      data: { 'cosign.pub': Buffer.from('PEM').toString('base64') },
      stringData: { plain: 'text' },
    }));
    const secret = await createSecretSource({ kube: k })(ref, signal());
    expect(k.paths).toEqual(['/api/v1/namespaces/ns/secrets/keys']);
    expect(secret?.type).toBe('Opaque');
    expect(secret?.data.get('cosign.pub')?.toString()).toBe('PEM');
    expect(secret?.data.get('plain')?.toString()).toBe('text');
  });

  it('keeps answers, found or not, for the TTL and merges concurrent reads', async () => {
    let now = 0;
    let exists = false;
    const k = kube(async () => (exists ? { data: {} } : undefined));
    const read = createSecretSource({ kube: k, ttlMs: 10_000, now: () => now });
    expect(await Promise.all([read(ref, signal()), read(ref, signal()), read(ref, signal())])).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(k.paths).toHaveLength(1);
    exists = true;
    now = 9_999;
    expect(await read(ref, signal())).toBeUndefined();
    now = 10_001;
    expect(await read(ref, signal())).toBeDefined();
    expect(k.paths).toHaveLength(2);
  });

  it('does not keep failures, and says which Secret could not be read', async () => {
    let fail = true;
    const k = kube(async () => {
      if (fail) throw new Error('GET ...: HTTP 403: forbidden');
      return { data: {} };
    });
    const read = createSecretSource({ kube: k });
    await expect(read(ref, signal())).rejects.toMatchObject({
      code: 'SECRET_UNAVAILABLE',
      message: 'Secret ns/keys could not be read: GET ...: HTTP 403: forbidden',
    });
    fail = false;
    expect(await read(ref, signal())).toBeDefined();
  });

  it('gives up when the signal aborts, and refuses names that are not names', async () => {
    const read = createSecretSource({ kube: kube(() => new Promise(() => undefined)) });
    await expect(read(ref, AbortSignal.timeout(50))).rejects.toMatchObject({
      code: 'SECRET_UNAVAILABLE',
      message: 'reading Secret ns/keys was aborted',
    });
    await expect(read({ namespace: 'ns', name: '../x' }, signal())).rejects.toMatchObject({
      code: 'SECRET_UNAVAILABLE',
    });
  });
});

describe('reading values', () => {
  const secret = decodeSecret(
    {
      type: 'kubernetes.io/dockercfg',
      data: { '.dockercfg': Buffer.from('{}').toString('base64'), pub: Buffer.from('PEM').toString('base64') },
    },
    ref,
  );

  it('secretText names the Secret and the missing key', () => {
    expect(secretText(secret, { ...ref, key: 'pub' })).toEqual({ text: 'PEM' });
    expect(secretText(secret, { ...ref, key: 'cosign.pub' })).toEqual({
      problem: 'Secret ns/keys has no key "cosign.pub" (keys: .dockercfg, pub)',
    });
    expect(secretText(undefined, { ...ref, key: 'pub' })).toEqual({ problem: 'Secret ns/keys does not exist' });
  });

  it('dockerConfigText reads .dockerconfigjson or .dockercfg', () => {
    expect(dockerConfigText(secret, ref)).toEqual({ text: '{}' });
    expect(dockerConfigText(decodeSecret({ type: 'Opaque', data: {} }, ref), ref)).toEqual({
      problem: 'Secret ns/keys (type Opaque) has neither .dockerconfigjson nor .dockercfg',
    });
  });
});
