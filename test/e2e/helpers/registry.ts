// Real registries for tests: go-containerregistry's registry with the OCI referrers API
// (our `oci-registry`), `crane registry serve` and Debian's `docker-registry` (neither
// has the referrers API), on loopback ports, plus images pushed with crane and signed
// with the real cosign. Also a small HTTP(S) front for a registry that adds what they
// lack: basic or bearer-token authentication, TLS with a test CA, faults, and a count
// of the requests it sees.

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { startProcess, logTail, type ManagedProcess } from '../../../harness/processes.ts';
import { freePort } from '../../../harness/ports.ts';
import { locateTools } from '../../../harness/tools.ts';
import type { CompiledImagePolicy } from '../../../src/policy/compiled.ts';
import { imagePolicy } from '../../helpers/policies.ts';
import { compiler } from '../../helpers/snapshots.ts';

const run = promisify(execFile);

export interface RegistryTools {
  cosign: string;
  crane: string;
  'oci-registry': string;
  'docker-registry': string;
}

/** The tools, built by test/e2e/tools/build.sh when missing (docker-registry needs `build.sh --apt`). */
export async function registryTools(): Promise<RegistryTools> {
  return await locateTools(['cosign', 'crane', 'oci-registry', 'docker-registry']);
}

export type RegistryKind = 'oci-registry' | 'crane' | 'docker-registry';

export interface TestRegistry {
  kind: RegistryKind;
  /** `ADDRESS:PORT` (loopback unless told otherwise), as image references name it. */
  host: string;
  /** Whether it serves GET /v2/<name>/referrers/<digest>. */
  referrers: boolean;
  stop(): Promise<void>;
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  proc: ManagedProcess,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitStatus() !== undefined)
      throw new Error(`${what} exited (${proc.exitStatus()}):\n${logTail(proc.logFile)}`);
    if (await check()) return;
    await sleep(50);
  }
  await proc.stop(1000);
  throw new Error(`${what} did not become ready within ${timeoutMs} ms:\n${logTail(proc.logFile)}`);
}

function answers(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(`http://${host}/v2/`, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 || res.statusCode === 401);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/**
 * Where registries listen, and so how image references name them: loopback by default;
 * the full cluster's tests set this machine's address, which the node's containerd and
 * Bulwark's pods can reach (BULWARK_E2E_REGISTRY_ADDRESS, or the `address` option).
 */
export function registryAddress(): string {
  return process.env.BULWARK_E2E_REGISTRY_ADDRESS ?? '127.0.0.1';
}

/** Starts one registry on a free port; files (logs, storage) go under `dir`. */
export async function startRegistry(
  kind: RegistryKind,
  tools: RegistryTools,
  dir: string,
  options: { address?: string } = {},
): Promise<TestRegistry> {
  const address = options.address ?? registryAddress();
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, `${kind}.log`);
  let proc: ManagedProcess;
  let host: string;
  if (kind === 'oci-registry') {
    proc = startProcess({
      name: kind,
      command: tools['oci-registry'],
      args: ['--address', `${address}:0`, '--quiet'],
      logFile,
    });
    let found = '';
    await waitFor(
      kind,
      async () => {
        found = /listening on (\S+:\d+)/.exec(readFileSync(logFile, 'utf8'))?.[1] ?? '';
        return found !== '' && (await answers(found));
      },
      proc,
    );
    host = found;
  } else if (kind === 'crane') {
    host = `${address}:${await freePort()}`;
    proc = startProcess({ name: kind, command: tools.crane, args: ['registry', 'serve', '--address', host], logFile });
    await waitFor(kind, () => answers(host), proc);
  } else {
    host = `${address}:${await freePort()}`;
    const config = join(dir, 'docker-registry.yml');
    writeFileSync(
      config,
      [
        'version: 0.1',
        'log:',
        '  level: error',
        '  accesslog:',
        '    disabled: true',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${join(dir, 'docker-registry-data')}`,
        '  delete:',
        '    enabled: true',
        'http:',
        `  addr: ${host}`,
        `  secret: ${randomBytes(16).toString('hex')}`,
        '',
      ].join('\n'),
    );
    proc = startProcess({ name: kind, command: tools['docker-registry'], args: ['serve', config], logFile });
    await waitFor(kind, () => answers(host), proc);
  }
  return { kind, host, referrers: kind === 'oci-registry', stop: () => proc.stop(2000) };
}

// ---------------------------------------------------------------- images and signatures

export async function crane(tools: RegistryTools, args: string[]): Promise<string> {
  const { stdout } = await run(tools.crane, [...args, '--insecure'], { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** Pushes a one-layer image of random content to `ref` (`host/repo:tag`); returns its digest. */
export async function pushRandomImage(tools: RegistryTools, ref: string, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const name = `layer-${randomBytes(6).toString('hex')}`;
  writeFileSync(join(dir, `${name}.bin`), randomBytes(512));
  await run('tar', ['-cf', join(dir, `${name}.tar`), '-C', dir, `${name}.bin`]);
  await run(tools.crane, ['append', '--insecure', '--oci-empty-base', '-f', join(dir, `${name}.tar`), '-t', ref]);
  return await crane(tools, ['digest', ref]);
}

/** Pushes an OCI index of `manifests` (full references) to `ref`; returns its digest. */
export async function pushIndex(tools: RegistryTools, ref: string, manifests: readonly string[]): Promise<string> {
  await run(tools.crane, ['index', 'append', '--insecure', ...manifests.flatMap((m) => ['-m', m]), '-t', ref]);
  return await crane(tools, ['digest', ref]);
}

export interface KeyPair {
  keyFile: string;
  publicKeyPem: string;
}

/** `cosign generate-key-pair` with an empty password, in `dir`. */
export async function generateKeyPair(tools: RegistryTools, dir: string): Promise<KeyPair> {
  mkdirSync(dir, { recursive: true });
  await run(tools.cosign, ['generate-key-pair'], { cwd: dir, env: { ...process.env, COSIGN_PASSWORD: '' } });
  return { keyFile: join(dir, 'cosign.key'), publicKeyPem: readFileSync(join(dir, 'cosign.pub'), 'utf8') };
}

export type SignatureFormat = 'bundle' | 'legacy';

/** Signs `image` (`host/repo@sha256:...`) offline with the real cosign, in either format. */
export async function cosignSign(
  tools: RegistryTools,
  key: KeyPair,
  image: string,
  format: SignatureFormat,
): Promise<void> {
  const args = [
    'sign',
    '--key',
    key.keyFile,
    '--tlog-upload=false',
    '--use-signing-config=false',
    '--yes',
    '--allow-insecure-registry',
    '--allow-http-registry',
  ];
  if (format === 'legacy') args.push('--new-bundle-format=false');
  await run(tools.cosign, [...args, image], { env: { ...process.env, COSIGN_PASSWORD: '' }, timeout: 60_000 });
}

/** `cosign attest` offline with the real cosign: `predicate` (JSON) of `type` about `image`, in either format. */
export async function cosignAttest(
  tools: RegistryTools,
  key: KeyPair,
  image: string,
  type: string,
  predicate: unknown,
  format: SignatureFormat,
): Promise<void> {
  const file = join(dirname(key.keyFile), `predicate-${randomBytes(6).toString('hex')}.json`);
  writeFileSync(file, JSON.stringify(predicate));
  const args = ['attest', '--key', key.keyFile, '--predicate', file, '--type', type, '--tlog-upload=false'];
  args.push('--use-signing-config=false', '--yes', '--allow-insecure-registry', '--allow-http-registry');
  if (format === 'legacy') args.push('--new-bundle-format=false');
  await run(tools.cosign, [...args, image], { env: { ...process.env, COSIGN_PASSWORD: '' }, timeout: 60_000 });
}

/**
 * A compiled ImagePolicy for every image, trusting `publicKeyPem` (authority "release")
 * on plain-HTTP registries; `spec` overrides fields. Named uniquely, as caches key on it.
 */
export function signedByPolicy(publicKeyPem: string, spec: Record<string, unknown> = {}): CompiledImagePolicy {
  const result = compiler.image(
    imagePolicy(`p-${randomBytes(4).toString('hex')}`, {
      images: ['**'],
      authorities: [{ name: 'release', key: { publicKey: publicKeyPem } }],
      registry: { insecure: true },
      ...spec,
    }),
  );
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.policy;
}

// ---------------------------------------------------------------- raw registry writes

function send(
  method: string,
  url: string,
  body: Buffer | undefined,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Uploads a blob (POST, then a monolithic PUT) over plain HTTP; returns its digest. */
export async function putBlob(host: string, repository: string, bytes: Buffer): Promise<string> {
  const digest = sha256Digest(bytes);
  const start = await send('POST', `http://${host}/v2/${repository}/blobs/uploads/`, Buffer.alloc(0));
  if (start.status !== 202 || typeof start.headers.location !== 'string')
    throw new Error(`blob upload start: HTTP ${start.status} ${start.body}`);
  const location = new URL(start.headers.location, `http://${host}`);
  location.searchParams.set('digest', digest);
  const done = await send('PUT', location.href, bytes, { 'content-type': 'application/octet-stream' });
  if (done.status !== 201) throw new Error(`blob upload: HTTP ${done.status} ${done.body}`);
  return digest;
}

/** PUTs manifest bytes at a tag or digest; returns the manifest's digest. */
export async function putManifest(
  host: string,
  repository: string,
  reference: string,
  bytes: Buffer,
  mediaType: string,
): Promise<string> {
  const res = await send('PUT', `http://${host}/v2/${repository}/manifests/${reference}`, bytes, {
    'content-type': mediaType,
  });
  if (res.status !== 201) throw new Error(`manifest PUT ${repository}:${reference}: HTTP ${res.status} ${res.body}`);
  return sha256Digest(bytes);
}

export async function getManifestJson(tools: RegistryTools, ref: string): Promise<Record<string, unknown>> {
  return JSON.parse(await crane(tools, ['manifest', ref])) as Record<string, unknown>;
}

export async function getBlob(tools: RegistryTools, ref: string): Promise<Buffer> {
  const { stdout } = await run(tools.crane, ['blob', '--insecure', ref], {
    encoding: 'buffer',
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

// ---------------------------------------------------------------- a front with auth, TLS and faults

export type FrontAuth =
  | { kind: 'basic'; username: string; password: string }
  /**
   * Bearer tokens from `/token` on the front; with username/password the token endpoint requires them, else it is
   * anonymous.
   */
  | { kind: 'bearer'; username?: string; password?: string; expiresIn?: number };

export interface FrontOptions {
  /** `host:port` of the registry behind; omit for a front that only answers through `intercept`. */
  upstream?: string;
  tls?: { certPem: string; keyPem: string };
  auth?: FrontAuth;
  /** Handles a request itself when it returns true (after authentication). */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
}

export interface FrontRequest {
  method: string;
  url: string;
  authorization?: string;
}

export interface TestFront {
  host: string;
  /** Every request received, token requests included. */
  requests: FrontRequest[];
  close(): Promise<void>;
}

function basicOk(header: string | undefined, username: string, password: string): boolean {
  return header === `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export async function startFront(options: FrontOptions): Promise<TestFront> {
  const requests: FrontRequest[] = [];
  const tokens = new Set<string>();
  let origin = '';
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    const auth = options.auth;
    const url = new URL(req.url ?? '/', origin);
    if (auth?.kind === 'bearer' && url.pathname === '/token') {
      if (auth.username !== undefined && !basicOk(req.headers.authorization, auth.username, auth.password ?? '')) {
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end('{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}');
        return;
      }
      const token = randomBytes(16).toString('hex');
      tokens.add(token);
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token, expires_in: auth.expiresIn ?? 300 }));
      return;
    }
    if (auth?.kind === 'basic' && !basicOk(req.headers.authorization, auth.username, auth.password)) {
      res
        .writeHead(401, { 'www-authenticate': 'Basic realm="test registry"', 'content-type': 'application/json' })
        .end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    if (auth?.kind === 'bearer' && !tokens.has((req.headers.authorization ?? '').replace(/^Bearer /, ''))) {
      const repo = /^\/v2\/(.+?)\/(?:manifests|blobs|referrers|tags)\//.exec(url.pathname)?.[1];
      const scope = repo ? `,scope="repository:${repo}:pull"` : '';
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="${origin}/token",service="test-registry"${scope}`,
          'content-type': 'application/json',
        })
        .end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    if (options.intercept && (await options.intercept(req, res))) return;
    if (!options.upstream) {
      res.writeHead(404).end();
      return;
    }
    const headers = { ...req.headers, host: options.upstream };
    delete headers.authorization;
    const up = httpRequest(`http://${options.upstream}${req.url}`, { method: req.method, headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', (err) => res.writeHead(502).end(err.message));
    req.pipe(up);
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handler(req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(err.message);
    });
  };
  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.certPem, key: options.tls.keyPem }, listener)
    : createHttpServer(listener);
  const address = registryAddress();
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const host = `${address}:${(server.address() as AddressInfo).port}`;
  origin = `${options.tls ? 'https' : 'http'}://${host}`;
  return {
    host,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
