// Pure parts of the registry client: WWW-Authenticate challenges, Docker config
// credentials, manifest validation, token endpoints.

import { describe, expect, it } from 'vitest';
import { parseTokenResponse, tokenUrl } from '../../../src/registry/auth.ts';
import { parseChallenges } from '../../../src/registry/challenge.ts';
import { credentialsFor, normaliseRegistryHost, parseDockerConfig } from '../../../src/registry/credentials.ts';
import { artifactTypeOf, parseManifest } from '../../../src/registry/manifest.ts';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseChallenges', () => {
  it('reads a bearer challenge with quoted values containing commas', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/m' +
          'y-app:pull,push"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:samalba/my-app:pull,push',
        },
      },
    ]);
  });

  it('reads several challenges, unquoted values, odd spacing and escapes', () => {
    expect(parseChallenges('Basic realm="Registry \\"x\\"", Bearer realm=https://a/token , service = svc')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry "x"' } },
      { scheme: 'bearer', params: { realm: 'https://a/token', service: 'svc' } },
    ]);
    expect(parseChallenges(['Basic realm="a"', 'Bearer realm="b"']).map((c) => c.scheme)).toEqual(['basic', 'bearer']);
  });

  it('tolerates empty and junk headers', () => {
    expect(parseChallenges(undefined)).toEqual([]);
    expect(parseChallenges('')).toEqual([]);
    expect(parseChallenges('Bearer')).toEqual([{ scheme: 'bearer', params: {} }]);
    expect(parseChallenges('"""')).toEqual([]);
  });
});

describe('token endpoints', () => {
  const challenge = { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'reg' } };

  it('builds the token URL with service and scope (the challenge scope wins)', () => {
    const url = tokenUrl(challenge, 'repository:a/b:pull', true, false) as URL;
    expect(url.href).toBe('https://auth.example/token?service=reg&scope=repository%3Aa%2Fb%3Apull');
    const scoped = tokenUrl(
      { scheme: 'bearer', params: { ...challenge.params, scope: 'repository:x:pull' } },
      'repository:a/b:pull',
      true,
      false,
    ) as URL;
    expect(scoped.searchParams.get('scope')).toBe('repository:x:pull');
  });

  it('never sends credentials to a plain-HTTP realm of a TLS registry', () => {
    const plain = { scheme: 'bearer', params: { realm: 'http://auth.example/token' } };
    expect(tokenUrl(plain, 's', true, true)).toMatch(/plain HTTP; credentials are not sent there/);
    expect(tokenUrl(plain, 's', true, false)).toBeInstanceOf(URL);
    expect(tokenUrl(plain, 's', false, true)).toBeInstanceOf(URL);
    expect(tokenUrl({ scheme: 'bearer', params: {} }, 's', true, false)).toBe('its Bearer challenge has no realm');
    expect(tokenUrl({ scheme: 'bearer', params: { realm: 'file:///etc/passwd' } }, 's', true, false)).toMatch(
      /not http/,
    );
  });

  it('reads token or access_token, with a 60 s default lifetime', () => {
    const res = (body: unknown) => ({ status: 200, headers: {}, body: Buffer.from(JSON.stringify(body)) });
    expect(parseTokenResponse(res({ token: 't', expires_in: 300 }), 'r', 0)).toEqual({
      token: 't',
      expiresAt: 295_000,
    });
    expect(parseTokenResponse(res({ access_token: 'a' }), 'r', 0)).toEqual({ token: 'a', expiresAt: 55_000 });
    expect(() => parseTokenResponse(res({}), 'r', 0)).toThrow(/without a token/);
    expect(() => parseTokenResponse({ status: 200, headers: {}, body: Buffer.from('<html>') }, 'r', 0)).toThrow(
      /not JSON/,
    );
  });
});

describe('Docker config credentials', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  it('reads auth (user:pass, the password may contain colons) and username/password', () => {
    const config = parseDockerConfig(
      JSON.stringify({
        auths: {
          'reg.local:5000': { auth: b64('u:p:w') },
          'https://index.docker.io/v1/': { username: 'hub', password: 'pw' },
          empty: {},
        },
      }),
      'Secret a/b',
    );
    expect([...config]).toEqual([
      ['reg.local:5000', { username: 'u', password: 'p:w', source: 'Secret a/b' }],
      ['https://index.docker.io/v1/', { username: 'hub', password: 'pw', source: 'Secret a/b' }],
    ]);
  });

  it('reads the older .dockercfg shape (hosts at the top level)', () => {
    expect([...parseDockerConfig(JSON.stringify({ 'reg.local': { auth: b64('x:y') } }), 's').keys()]).toEqual([
      'reg.local',
    ]);
  });

  it('throws on a document that is not JSON', () => {
    expect(() => parseDockerConfig('nope', 's')).toThrow();
  });

  it('matches hosts as the kubelet does: scheme and path ignored, Docker Hub aliases, ports significant', () => {
    expect(normaliseRegistryHost('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normaliseRegistryHost('Registry.Local:5000/v2/')).toBe('registry.local:5000');
    const a = parseDockerConfig(
      JSON.stringify({ auths: { 'https://reg.local:5000': { auth: b64('a:1') }, 'reg.local': { auth: b64('b:2') } } }),
      'A',
    );
    const b = parseDockerConfig(JSON.stringify({ auths: { 'reg.local:5000': { auth: b64('c:3') } } }), 'B');
    expect(credentialsFor('reg.local:5000', [a, b]).map((c) => c.username)).toEqual(['a', 'c']);
    expect(
      credentialsFor('docker.io', [
        parseDockerConfig(JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: b64('h:p') } } }), 'H'),
      ]).map((c) => c.username),
    ).toEqual(['h']);
    expect(credentialsFor('other:1', [a, b])).toEqual([]);
  });
});

describe('parseManifest', () => {
  const parse = (doc: unknown, contentType?: string) => parseManifest(Buffer.from(JSON.stringify(doc)), D, contentType);
  const desc = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: D, size: 1 };

  it('parses OCI and Docker images and indexes', () => {
    expect(
      parse({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: desc,
        layers: [desc],
      }),
    ).toMatchObject({ manifest: { kind: 'image' } });
    expect(
      parse({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
        manifests: [desc],
      }),
    ).toMatchObject({ manifest: { kind: 'index' } });
    // OCI allows omitting mediaType: the Content-Type or the shape decides.
    expect(parse({ schemaVersion: 2, manifests: [] })).toMatchObject({
      manifest: { kind: 'index', mediaType: 'application/vnd.oci.image.index.v1+json' },
    });
    expect(
      parse(
        { schemaVersion: 2, config: desc, layers: [] },
        'application/vnd.oci.image.manifest.v1+json; charset=utf-8',
      ),
    ).toMatchObject({ manifest: { kind: 'image' } });
  });

  it('collects every problem with its field', () => {
    const result = parse({
      schemaVersion: 1,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: '', digest: 'md5:x', size: -1 },
      layers: [{ ...desc, annotations: { a: 1 } }],
    });
    expect(result).toEqual({
      problems: [
        'schemaVersion is 1, expected 2',
        'config.mediaType is missing',
        'config.digest is not sha256:<64 hex>',
        'config.size is not a non-negative integer',
        'layers[0].annotations is not a map of strings',
      ],
    });
  });

  it('refuses schema 1, unknown media types and non-objects', () => {
    expect(parse({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' })).toEqual(
      { problems: ['unsupported manifest media type "application/vnd.docker.distribution.manifest.v1+prettyjws"'] },
    );
    expect(parse([1])).toEqual({ problems: ['not a JSON object'] });
    expect(parseManifest(Buffer.from('{'), D)).toMatchObject({ problems: [expect.stringMatching(/^not JSON/)] });
  });

  it("an artifact's type is its artifactType, else its config media type", () => {
    const withType = parse({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'x/y',
      config: desc,
      layers: [],
    });
    const configOnly = parse({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { ...desc, mediaType: 'c/d' },
      layers: [],
    });
    expect('manifest' in withType && artifactTypeOf(withType.manifest)).toBe('x/y');
    expect('manifest' in configOnly && artifactTypeOf(configOnly.manifest)).toBe('c/d');
  });
});
