// An OCI distribution client with just what signature verification needs: manifests
// (OCI and Docker, images and indexes), blobs, and the referrers API. Content fetched
// by digest is hashed and compared with that digest: a registry that returns other
// bytes is an error, never a signature. Authentication: anonymous or basic credentials,
// directly (Basic challenge) or through the bearer-token flow.

import { createHash } from 'node:crypto';
import { isBulwarkError, BaseError } from '../errors.ts';
import { AuthState, basicAuthorization, credentialId, parseTokenResponse, tokenUrl } from './auth.ts';
import { parseChallenges, type Challenge } from './challenge.ts';
import type { RegistryCredential } from './credentials.ts';
import {
  MANIFEST_ACCEPT,
  MediaTypes,
  SHA256_DIGEST,
  parseManifest,
  type Descriptor,
  type Manifest,
} from './manifest.ts';
import { abortedError, createAgentPool, exchange, type HttpResponse } from './transport.ts';

/** How to reach one registry: from the image reference and the policy's registry settings. */
export interface RegistryAccess {
  /** host[:port] as the image reference names it (`docker.io` is reached at registry-1.docker.io). */
  registry: string;
  /** Plain HTTP. Only when the policy says so. */
  insecure: boolean;
  /** PEM CA certificates trusted for this registry in addition to the defaults. */
  caBundle?: string;
  /** Tried in order; none means anonymous. */
  credentials: readonly RegistryCredential[];
}

export type RequestPurpose = 'manifest' | 'blob' | 'referrers' | 'token';

export interface RequestEvent {
  registry: string;
  method: string;
  url: string;
  purpose: RequestPurpose;
}

export interface ResponseEvent extends RequestEvent {
  /** The HTTP status, or undefined when the exchange failed (network, limits, abort). */
  status?: number;
  seconds: number;
}

export interface RegistryClientOptions {
  /** Called before every HTTP request (token requests included): for metrics and tests. */
  onRequest?: (event: RequestEvent) => void;
  /** Called when each of those requests ends: for latency metrics. */
  onResponse?: (event: ResponseEvent) => void;
  userAgent?: string;
  maxSocketsPerOrigin?: number;
  now?: () => number;
}

export const LIMITS = {
  manifest: 4 * 1024 * 1024,
  /** Signature layers: a simple-signing payload or a sigstore bundle is a few KiB. */
  signatureBlob: 1024 * 1024,
  token: 1024 * 1024,
  /** Bytes of an error body kept for the message. */
  errorBody: 64 * 1024,
  referrerPages: 8,
  redirects: 3,
} as const;

export type ReferrersResult = { supported: true; descriptors: Descriptor[] } | { supported: false };

export interface RegistryClient {
  /** GET a manifest by digest or tag; undefined when the registry has none (404). */
  getManifest(
    access: RegistryAccess,
    repository: string,
    reference: string,
    signal: AbortSignal,
  ): Promise<Manifest | undefined>;
  /** GET a blob (size-limited, digest-checked); undefined on 404. */
  getBlob(
    access: RegistryAccess,
    repository: string,
    digest: string,
    signal: AbortSignal,
    options?: { maxBytes?: number },
  ): Promise<Buffer | undefined>;
  /** The referrers API; `supported: false` when the registry answers 404 (use the tag fallback). */
  getReferrers(
    access: RegistryAccess,
    repository: string,
    digest: string,
    signal: AbortSignal,
    options?: { artifactType?: string },
  ): Promise<ReferrersResult>;
  /** HTTP requests sent so far (token requests included). */
  readonly requestCount: number;
  /** Closes idle keep-alive connections. */
  close(): void;
}

const TAG = /^[\w][\w.-]{0,127}$/;
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function registryOrigin(access: RegistryAccess): URL {
  const host = access.registry === 'docker.io' ? 'registry-1.docker.io' : access.registry;
  return new URL(`${access.insecure ? 'http' : 'https'}://${host}`);
}

/** `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"..."}]}` -> `MANIFEST_UNKNOWN: ...`, else a text snippet. */
function errorSummary(body: Buffer): string {
  const text = body.subarray(0, 2048).toString('utf8');
  try {
    const doc = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const first = doc.errors?.[0];
    if (first) return [first.code, first.message].filter(Boolean).join(': ');
  } catch {
    // not the distribution error format
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 200);
}

function nextLink(header: string | string[] | undefined, base: URL): URL | undefined {
  const text = Array.isArray(header) ? header.join(', ') : header;
  const match = text && /<([^>]+)>\s*;\s*rel="?next"?/.exec(text);
  if (!match) return undefined;
  try {
    const url = new URL(match[1]!, base);
    return url.origin === base.origin ? url : undefined; // never follow pagination elsewhere
  } catch {
    return undefined;
  }
}

export function createRegistryClient(options: RegistryClientOptions = {}): RegistryClient {
  const pool = createAgentPool({ maxSocketsPerOrigin: options.maxSocketsPerOrigin ?? 16 });
  const auth = new AuthState(options.now ?? Date.now);
  const userAgent = options.userAgent ?? 'bulwark';
  let requestCount = 0;

  interface Send {
    access: RegistryAccess;
    url: URL;
    accept?: string;
    maxBytes: number;
    purpose: RequestPurpose;
    what: string;
    signal: AbortSignal;
  }

  /** One GET, announced to onRequest and timed for onResponse. */
  async function timed(req: Send, url: URL, headers: Record<string, string>): Promise<HttpResponse> {
    requestCount++;
    const event: RequestEvent = { registry: req.access.registry, method: 'GET', url: url.href, purpose: req.purpose };
    options.onRequest?.(event);
    const started = performance.now();
    try {
      const res = await exchange(pool, {
        method: 'GET',
        url,
        headers,
        maxBytes: req.maxBytes,
        caBundle: req.access.caBundle,
        signal: req.signal,
        what: req.what,
        registry: req.access.registry,
      });
      options.onResponse?.({ ...event, status: res.status, seconds: (performance.now() - started) / 1000 });
      return res;
    } catch (err) {
      options.onResponse?.({ ...event, seconds: (performance.now() - started) / 1000 });
      throw err;
    }
  }

  async function raw(req: Send, authorization: string | undefined, url = req.url): Promise<HttpResponse> {
    const headers: Record<string, string> = { 'user-agent': userAgent };
    if (req.accept) headers.accept = req.accept;
    if (authorization) headers.authorization = authorization;
    let res = await timed(req, url, headers);
    // Blob stores redirect to object storage; the Authorization header stays with the registry.
    for (
      let hops = 0;
      [301, 302, 303, 307, 308].includes(res.status) && typeof res.headers.location === 'string';
      hops++
    ) {
      if (hops >= LIMITS.redirects)
        throw new BaseError(
          'REGISTRY_BAD_RESPONSE',
          `registry ${req.access.registry} redirected ${req.what} more than ${LIMITS.redirects} times`,
        );
      const target = new URL(res.headers.location, url);
      if (target.protocol === 'http:' && !req.access.insecure)
        throw new BaseError(
          'REGISTRY_BAD_RESPONSE',
          `registry ${req.access.registry} redirected ${req.what} to plain HTTP (${target.origin})`,
        );
      const sameOrigin = target.origin === url.origin;
      const h: Record<string, string> = {
        'user-agent': userAgent,
        ...(req.accept ? { accept: req.accept } : {}),
        ...(sameOrigin && authorization ? { authorization } : {}),
      };
      res = await timed(req, target, h);
      url = target;
    }
    return res;
  }

  function scopeFor(repository: string): string {
    return `repository:${repository}:pull`;
  }

  async function bearerToken(
    req: Send,
    challenge: Challenge,
    credential: RegistryCredential | undefined,
    scope: string,
  ): Promise<string> {
    const url = tokenUrl(challenge, scope, !req.access.insecure, credential !== undefined);
    if (typeof url === 'string')
      throw new BaseError('REGISTRY_AUTH_FAILED', `registry ${req.access.registry} asks for a bearer token but ${url}`);
    const key = `${req.url.origin}|${credentialId(credential)}|${url.searchParams.get('scope')}`;
    const fetchToken = async () => {
      const tokenReq: Send = {
        ...req,
        url,
        accept: 'application/json',
        maxBytes: LIMITS.token,
        purpose: 'token',
        what: `a token for ${url.searchParams.get('scope')}`,
      };
      const res = await raw(tokenReq, credential ? basicAuthorization(credential) : undefined);
      if (res.status === 401 || res.status === 403) {
        throw new BaseError(
          'REGISTRY_AUTH_FAILED',
          (
            `the token service of registry ${req.access.registry} (${url.origin}) ` +
            `refused ${credential ? `the credentials from ${credential.source}` : 'anonymous access'}: ` +
            `HTTP ${res.status} ${errorSummary(res.body)}`
          ).trim(),
        );
      }
      if (res.status !== 200)
        throw new BaseError(
          'REGISTRY_HTTP_ERROR',
          `the token service of registry ${req.access.registry} (${url.origin}) answered ` +
            `HTTP ${res.status}: ${errorSummary(res.body)}`,
        );
      return parseTokenResponse(res, req.access.registry, (options.now ?? Date.now)());
    };
    try {
      return await auth.token(key, fetchToken);
    } catch (err) {
      // A merged fetch may have been aborted by another caller's deadline: try again with ours.
      if (isBulwarkError(err, 'REGISTRY_ABORTED') && !req.signal.aborted) return await auth.token(key, fetchToken);
      throw err;
    }
  }

  /** Authorization to send up front, from what this origin asked for before. */
  async function preemptive(
    req: Send,
    credential: RegistryCredential | undefined,
    scope: string,
  ): Promise<string | undefined> {
    const challenge = auth.challengeFor(req.url.origin);
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') return credential ? basicAuthorization(credential) : undefined;
    if (challenge.scheme === 'bearer') return `Bearer ${await bearerToken(req, challenge, credential, scope)}`;
    return undefined;
  }

  /** One attempt with one credential (or none): send, answer a challenge once, send again. */
  async function attempt(req: Send, credential: RegistryCredential | undefined, scope: string): Promise<HttpResponse> {
    const first = await preemptive(req, credential, scope);
    const res = await raw(req, first);
    if (res.status !== 401) return res;
    const challenges = parseChallenges(res.headers['www-authenticate']);
    const challenge = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (!challenge) return res;
    auth.rememberChallenge(req.url.origin, challenge);
    if (challenge.scheme === 'basic') {
      if (!credential || first) return res;
      return await raw(req, basicAuthorization(credential));
    }
    if (first) {
      // The token we sent was refused (revoked, or scope changed): fetch a fresh one once.
      auth.forgetToken(`${req.url.origin}|${credentialId(credential)}|${challenge.params.scope || scope}`);
    }
    return await raw(req, `Bearer ${await bearerToken(req, challenge, credential, scope)}`);
  }

  async function send(req: Send, repository: string): Promise<HttpResponse> {
    const candidates: (RegistryCredential | undefined)[] =
      req.access.credentials.length > 0 ? [...req.access.credentials] : [undefined];
    const scope = scopeFor(repository);
    let last: HttpResponse | undefined;
    let lastAuthError: unknown;
    for (const credential of candidates) {
      try {
        const res = await attempt(req, credential, scope);
        if (res.status !== 401 && res.status !== 403) return res;
        last = res;
      } catch (err) {
        if (!isBulwarkError(err, 'REGISTRY_AUTH_FAILED')) throw err;
        lastAuthError = err;
      }
    }
    if (req.signal.aborted) throw abortedError(req.access.registry, req.what, req.signal);
    if (last) {
      const who =
        candidates.length > 1
          ? `any of ${candidates.length} credentials`
          : candidates[0]
            ? `the credentials from ${candidates[0].source}`
            : 'anonymous access';
      throw new BaseError(
        'REGISTRY_AUTH_FAILED',
        (
          `registry ${req.access.registry} refused ${who} for ${req.what}: ` +
          `HTTP ${last.status} ${errorSummary(last.body)}`
        ).trim(),
      );
    }
    throw lastAuthError;
  }

  function unexpected(req: Send, res: HttpResponse): BaseError {
    const detail = errorSummary(res.body);
    return new BaseError(
      'REGISTRY_HTTP_ERROR',
      `registry ${req.access.registry} answered HTTP ${res.status} for ${req.what}${detail ? `: ${detail}` : ''}`,
    );
  }

  function badContent(req: Send, problem: string): BaseError {
    return new BaseError(
      'REGISTRY_BAD_RESPONSE',
      `registry ${req.access.registry} answered ${req.what} with ${problem}`,
    );
  }

  function path(access: RegistryAccess, repository: string, tail: string): URL {
    if (!REPOSITORY.test(repository))
      throw new BaseError('REGISTRY_BAD_RESPONSE', `${JSON.stringify(repository)} is not a repository name`);
    return new URL(`/v2/${repository}/${tail}`, registryOrigin(access));
  }

  return {
    get requestCount() {
      return requestCount;
    },

    async getManifest(access, repository, reference, signal) {
      const byDigest = SHA256_DIGEST.test(reference);
      if (!byDigest && !TAG.test(reference))
        throw new BaseError(
          'REGISTRY_BAD_RESPONSE',
          `${JSON.stringify(reference)} is neither a sha256 digest nor a tag`,
        );
      const req: Send = {
        access,
        signal,
        purpose: 'manifest',
        maxBytes: LIMITS.manifest,
        accept: MANIFEST_ACCEPT,
        url: path(access, repository, `manifests/${reference}`),
        what: `manifest ${repository}${byDigest ? '@' : ':'}${reference}`,
      };
      const res = await send(req, repository);
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw unexpected(req, res);
      const digest = sha256(res.body);
      if (byDigest && digest !== reference) throw badContent(req, `content whose digest is ${digest}`);
      const contentType = typeof res.headers['content-type'] === 'string' ? res.headers['content-type'] : undefined;
      const parsed = parseManifest(res.body, digest, contentType);
      if ('problems' in parsed) throw badContent(req, `an invalid manifest: ${parsed.problems.slice(0, 3).join('; ')}`);
      return parsed.manifest;
    },

    async getBlob(access, repository, digest, signal, blobOptions = {}) {
      if (!SHA256_DIGEST.test(digest)) throw new BaseError('REGISTRY_BAD_RESPONSE', `${digest} is not a sha256 digest`);
      const req: Send = {
        access,
        signal,
        purpose: 'blob',
        maxBytes: blobOptions.maxBytes ?? LIMITS.signatureBlob,
        url: path(access, repository, `blobs/${digest}`),
        what: `blob ${repository}@${digest}`,
      };
      const res = await send(req, repository);
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw unexpected(req, res);
      const actual = sha256(res.body);
      if (actual !== digest) throw badContent(req, `content whose digest is ${actual}`);
      return res.body;
    },

    async getReferrers(access, repository, digest, signal, referrerOptions = {}) {
      if (!SHA256_DIGEST.test(digest)) throw new BaseError('REGISTRY_BAD_RESPONSE', `${digest} is not a sha256 digest`);
      let url: URL | undefined = path(access, repository, `referrers/${digest}`);
      if (referrerOptions.artifactType) url.searchParams.set('artifactType', referrerOptions.artifactType);
      const descriptors: Descriptor[] = [];
      let filtered = false;
      for (let page = 0; url && page < LIMITS.referrerPages; page++) {
        const req: Send = {
          access,
          signal,
          purpose: 'referrers',
          maxBytes: LIMITS.manifest,
          accept: MediaTypes.ociIndex,
          url,
          what: `referrers of ${repository}@${digest}`,
        };
        const res = await send(req, repository);
        // The distribution spec: a registry with the API answers 200 (an empty index when
        // nothing refers to the digest); 404 means the API is not there.
        if (page === 0 && (res.status === 404 || res.status === 405)) return { supported: false };
        if (res.status !== 200) throw unexpected(req, res);
        const parsed = parseManifest(res.body, sha256(res.body), MediaTypes.ociIndex);
        if ('problems' in parsed || parsed.manifest.kind !== 'index') {
          throw badContent(
            req,
            `an invalid referrers ` +
              `index: ${'problems' in parsed ? parsed.problems.slice(0, 3).join('; ') : 'not an index'}`,
          );
        }
        descriptors.push(...parsed.manifest.manifests);
        const applied = res.headers['oci-filters-applied'];
        filtered ||=
          typeof applied === 'string' &&
          applied
            .split(',')
            .map((s) => s.trim())
            .includes('artifactType');
        url = nextLink(res.headers.link, url);
      }
      const wanted = referrerOptions.artifactType;
      // A registry that ignored the filter says so by omitting OCI-Filters-Applied: filter here.
      return {
        supported: true,
        descriptors: wanted && !filtered ? descriptors.filter((d) => d.artifactType === wanted) : descriptors,
      };
    },

    close() {
      pool.destroy();
    },
  };
}
