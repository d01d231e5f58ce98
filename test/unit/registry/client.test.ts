// The registry client against small local HTTP servers that script what real registries
// do at the edges: digests that do not match, pagination, filters, redirects to blob
// storage, token expiry and revocation, several credentials, limits and aborts.

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRegistryClient,
  type RegistryAccess,
  type RegistryClient,
  type RequestEvent,
  type ResponseEvent,
} from '../../../src/registry/client.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

interface Local {
  host: string;
  seen: IncomingMessage[];
  connections: number;
}

const servers: Server[] = [];
const clients: RegistryClient[] = [];

async function serve(handler: Handler): Promise<Local> {
  const local: Local = { host: '', seen: [], connections: 0 };
  const server = createServer((req, res) => {
    local.seen.push(req);
    handler(req, res, new URL(req.url ?? '/', `http://${local.host}`));
  });
  server.on('connection', () => local.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  local.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push(server);
  return local;
}

function client(options: Parameters<typeof createRegistryClient>[0] = {}): RegistryClient {
  const c = createRegistryClient(options);
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise((resolve) => {
          s.closeAllConnections();
          s.close(resolve);
        }),
    ),
  );
});

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const access = (host: string, extra: Partial<RegistryAccess> = {}): RegistryAccess => ({
  registry: host,
  insecure: true,
  credentials: [],
  ...extra,
});
const signal = () => AbortSignal.timeout(5000);
const EMPTY = Buffer.from('{}');
const MANIFEST = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha(EMPTY), size: 2 },
    layers: [],
  }),
);

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('manifests and blobs', () => {
  it('asks for OCI and Docker images and indexes, and checks the digest of what comes back', async () => {
    const local = await serve((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(MANIFEST),
    );
    const c = client();
    const byTag = await c.getManifest(access(local.host), 'a/b', 'v1', signal());
    expect(byTag).toMatchObject({ kind: 'image', digest: sha(MANIFEST) });
    expect(local.seen[0]!.headers.accept).toBe(
      'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, ' +
        'application/vnd.docker.distribution.manifest.v2+json, ' +
        'application/vnd.docker.distribution.manifest.list.v2+json',
    );
    expect(await c.getManifest(access(local.host), 'a/b', sha(MANIFEST), signal())).toMatchObject({ kind: 'image' });
    const other = `sha256:${'1'.repeat(64)}`;
    const err = await rejection(c.getManifest(access(local.host), 'a/b', other, signal()));
    expect(err).toMatchObject({
      code: 'REGISTRY_BAD_RESPONSE',
      message: `registry ${local.host} answered manifest a/b@${other} with content whose digest is ${sha(MANIFEST)}`,
    });
  });

  it('404 is "not there"; other statuses are errors with the registry error text', async () => {
    const local = await serve((_req, res, url) => {
      if (url.pathname.includes('/missing')) return res.writeHead(404).end();
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"UNKNOWN","message":"disk full"}]}');
    });
    const c = client();
    expect(await c.getManifest(access(local.host), 'missing', 'v1', signal())).toBeUndefined();
    expect(await c.getBlob(access(local.host), 'missing', sha('x'), signal())).toBeUndefined();
    expect(await rejection(c.getBlob(access(local.host), 'a', sha('x'), signal()))).toMatchObject({
      code: 'REGISTRY_HTTP_ERROR',
      message: `registry ${local.host} answered HTTP 500 for blob a@${sha('x')}: UNKNOWN: disk full`,
    });
  });

  it('refuses bodies over the limit, declared or streamed', async () => {
    const local = await serve((_req, res, url) => {
      if (url.pathname.endsWith('declared'))
        return res.writeHead(200, { 'content-length': String(2 * 1024 * 1024) }).end(Buffer.alloc(2 * 1024 * 1024));
      res.writeHead(200);
      res.write(Buffer.alloc(700 * 1024));
      res.end(Buffer.alloc(700 * 1024));
    });
    const c = client();
    expect(await rejection(c.getManifest(access(local.host), 'a', 'declared', signal()))).toMatchObject({
      code: 'REGISTRY_BAD_RESPONSE',
    });
    const streamed = await rejection(c.getBlob(access(local.host), 'a', sha('x'), signal()));
    expect(streamed).toMatchObject({
      code: 'REGISTRY_BAD_RESPONSE',
      message: expect.stringContaining('more than the limit of 1048576 bytes'),
    });
  });

  it('follows a blob redirect to storage without the Authorization header', async () => {
    const blob = Buffer.from('signature payload');
    const storage = await serve((_req, res) => res.writeHead(200).end(blob));
    const registry = await serve((req, res, url) => {
      if (req.headers.authorization !== `Basic ${Buffer.from('u:p').toString('base64')}`)
        return res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
      res.writeHead(307, { location: `http://${storage.host}/bucket${url.pathname}` }).end();
    });
    const c = client();
    const got = await c.getBlob(
      access(registry.host, { credentials: [{ username: 'u', password: 'p', source: 'test' }] }),
      'a',
      sha(blob),
      signal(),
    );
    expect(got?.toString()).toBe('signature payload');
    expect(storage.seen.map((r) => r.headers.authorization)).toEqual([undefined]);
  });

  it('refuses names that are not repository names or references, before any request', async () => {
    const c = client();
    await expect(c.getManifest(access('127.0.0.1:1'), '../etc', 'v1', signal())).rejects.toThrow(
      /not a repository name/,
    );
    await expect(c.getManifest(access('127.0.0.1:1'), 'a', 'v1/../x', signal())).rejects.toThrow(
      /neither a sha256 digest nor a tag/,
    );
    expect(c.requestCount).toBe(0);
  });

  it('reuses one keep-alive connection for sequential requests and counts every request', async () => {
    const events: RequestEvent[] = [];
    const local = await serve((_req, res) => res.writeHead(200).end(MANIFEST));
    const c = client({ onRequest: (e) => events.push(e) });
    for (let i = 0; i < 5; i++) await c.getManifest(access(local.host), 'a', 'v1', signal());
    expect(local.connections).toBe(1);
    expect(c.requestCount).toBe(5);
    expect(events[0]).toEqual({
      registry: local.host,
      method: 'GET',
      url: `http://${local.host}/v2/a/manifests/v1`,
      purpose: 'manifest',
    });
  });

  it('reports how each request ended and how long it took: a status, or none when the exchange failed', async () => {
    const ended: ResponseEvent[] = [];
    const local = await serve((req, res) =>
      req.url?.includes('missing')
        ? res.writeHead(404).end('no')
        : setTimeout(() => res.writeHead(200).end(MANIFEST), 30),
    );
    const c = client({ onResponse: (e) => ended.push(e) });
    await c.getManifest(access(local.host), 'a', 'v1', signal());
    await c.getManifest(access(local.host), 'missing', 'v1', signal()).catch(() => undefined);
    await c.getManifest(access('127.0.0.1:1'), 'a', 'v1', signal()).catch(() => undefined);
    expect(ended.map((e) => [e.purpose, e.status])).toEqual([
      ['manifest', 200],
      ['manifest', 404],
      ['manifest', undefined],
    ]);
    expect(ended[0]!.seconds).toBeGreaterThanOrEqual(0.025);
  });
});

describe('referrers', () => {
  const d = (n: number, artifactType?: string) => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${String(n).repeat(64)}`,
    size: 10,
    ...(artifactType ? { artifactType } : {}),
  });
  const index = (manifests: unknown[]) =>
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests });
  const subject = `sha256:${'f'.repeat(64)}`;

  it('404 means the API is missing', async () => {
    const local = await serve((_req, res) => res.writeHead(404).end('404 page not found'));
    expect(await client().getReferrers(access(local.host), 'a', subject, signal())).toEqual({ supported: false });
  });

  it('follows Link pagination on the same origin', async () => {
    const local = await serve((_req, res, url) => {
      if (url.searchParams.get('page') === '2') return res.writeHead(200).end(index([d(2)]));
      res.writeHead(200, { link: `</v2/a/referrers/${subject}?page=2>; rel="next"` }).end(index([d(1)]));
    });
    const result = await client().getReferrers(access(local.host), 'a', subject, signal());
    expect(result.supported && result.descriptors.map((x) => x.digest[7])).toEqual(['1', '2']);
  });

  it('filters by artifactType itself unless the registry says it applied the filter', async () => {
    let applied = false;
    const local = await serve((_req, res, url) => {
      expect(url.searchParams.get('artifactType')).toBe('x/bundle');
      res
        .writeHead(200, applied ? { 'oci-filters-applied': 'artifactType' } : {})
        .end(index([d(1, 'x/bundle'), d(2, 'x/sbom'), d(3)]));
    });
    const c = client();
    const own = await c.getReferrers(access(local.host), 'a', subject, signal(), { artifactType: 'x/bundle' });
    expect(own.supported && own.descriptors.map((x) => x.digest[7])).toEqual(['1']);
    applied = true;
    const theirs = await c.getReferrers(access(local.host), 'a', subject, signal(), { artifactType: 'x/bundle' });
    expect(theirs.supported && theirs.descriptors).toHaveLength(3);
  });

  it('an invalid referrers answer is a registry error', async () => {
    const local = await serve((_req, res) => res.writeHead(200).end('{"manifests":"no"}'));
    expect(await rejection(client().getReferrers(access(local.host), 'a', subject, signal()))).toMatchObject({
      code: 'REGISTRY_BAD_RESPONSE',
      message: expect.stringContaining('invalid referrers index'),
    });
  });
});

describe('authentication', () => {
  /** A registry that wants bearer tokens from its own /token; tokens can be revoked. */
  async function bearerRegistry(expiresIn = 300) {
    const valid = new Set<string>();
    let issued = 0;
    const local = await serve((req, res, url) => {
      if (url.pathname === '/token') {
        const token = `t${++issued}`;
        valid.add(token);
        return res.writeHead(200).end(JSON.stringify({ token, expires_in: expiresIn }));
      }
      if (!valid.has((req.headers.authorization ?? '').replace('Bearer ', ''))) {
        return res
          .writeHead(401, { 'www-authenticate': `Bearer realm="http://${local.host}/token",service="s"` })
          .end();
      }
      res.writeHead(200).end(MANIFEST);
    });
    return { local, valid, issued: () => issued };
  }

  it('caches a token per scope until shortly before it expires', async () => {
    let now = 1_000_000;
    const { local, issued } = await bearerRegistry(10);
    const c = client({ now: () => now });
    await c.getManifest(access(local.host), 'a', 'v1', signal());
    await c.getManifest(access(local.host), 'a', 'v2', signal());
    expect(issued()).toBe(1);
    await c.getManifest(access(local.host), 'other', 'v1', signal()); // another scope
    expect(issued()).toBe(2);
    now += 6_000; // 10 s lifetime minus the 5 s margin
    await c.getManifest(access(local.host), 'a', 'v1', signal());
    expect(issued()).toBe(3);
  });

  it('merges concurrent token fetches and refetches once when a token is revoked', async () => {
    const { local, valid, issued } = await bearerRegistry();
    const c = client();
    await Promise.all([1, 2, 3, 4].map((i) => c.getManifest(access(local.host), 'a', `v${i}`, signal())));
    expect(issued()).toBe(1);
    valid.clear();
    expect(await c.getManifest(access(local.host), 'a', 'v1', signal())).toMatchObject({ kind: 'image' });
    expect(issued()).toBe(2);
  });

  it('tries each credential in turn, and says which were refused', async () => {
    const local = await serve((req, res) => {
      if (req.headers.authorization === `Basic ${Buffer.from('good:pw').toString('base64')}`)
        return res.writeHead(200).end(MANIFEST);
      res
        .writeHead(401, { 'www-authenticate': 'Basic realm="r"' })
        .end('{"errors":[{"code":"UNAUTHORIZED","message":"no"}]}');
    });
    const c = client();
    const bad = { username: 'bad', password: 'pw', source: 'Secret a/first' };
    const good = { username: 'good', password: 'pw', source: 'Secret a/second' };
    expect(await c.getManifest(access(local.host, { credentials: [bad, good] }), 'a', 'v1', signal())).toMatchObject({
      kind: 'image',
    });
    expect(
      await rejection(c.getManifest(access(local.host, { credentials: [bad] }), 'a', 'v1', signal())),
    ).toMatchObject({
      code: 'REGISTRY_AUTH_FAILED',
      message:
        `registry ${local.host} refused the credentials from Secret a/first for manifest a:v1: HTTP 401 ` +
        `UNAUTHORIZED: no`,
    });
  });

  it('a 401 without a usable challenge is an auth failure', async () => {
    const local = await serve((_req, res) => res.writeHead(401).end());
    expect(await rejection(client().getManifest(access(local.host), 'a', 'v1', signal()))).toMatchObject({
      code: 'REGISTRY_AUTH_FAILED',
      message: expect.stringContaining('refused anonymous access'),
    });
  });
});

describe('aborts', () => {
  it('an aborted signal stops the request, at once or while waiting', async () => {
    const local = await serve(() => undefined); // never answers
    const c = client();
    const before = AbortSignal.abort(new Error('deadline'));
    const early = await rejection(c.getManifest(access(local.host), 'a', 'v1', before));
    expect(early).toMatchObject({
      code: 'REGISTRY_ABORTED',
      message: `request to registry ${local.host} for manifest a:v1 was aborted (deadline)`,
    });
    const waiting = new AbortController();
    const late = rejection(c.getManifest(access(local.host), 'a', 'v1', waiting.signal));
    while (local.seen.length === 0) await new Promise((r) => setTimeout(r, 10));
    waiting.abort(new Error('deadline'));
    expect(await late).toMatchObject({
      code: 'REGISTRY_ABORTED',
      message: `request to registry ${local.host} for manifest a:v1 was aborted (deadline)`,
    });
  });
});
