// Registry authentication state: which scheme an origin asked for, and bearer tokens
// per origin, credential and scope until they expire. Token fetches for one key are
// merged, so parallel requests of one verification cost one token round trip.

import { LRUCache } from 'lru-cache';
import { BaseError } from '../errors.ts';
import type { Challenge } from './challenge.ts';
import type { RegistryCredential } from './credentials.ts';
import type { HttpResponse } from './transport.ts';

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Seconds a token lives when the server does not say (the distribution spec's default). */
const DEFAULT_TOKEN_SECONDS = 60;
/** Tokens are dropped this long before they expire, so a request never carries a stale one. */
const EXPIRY_MARGIN_MS = 5_000;

export function basicAuthorization(credential: RegistryCredential): string {
  return `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
}

export function credentialId(credential: RegistryCredential | undefined): string {
  return credential ? `${credential.source}#${credential.username}` : 'anonymous';
}

/** The token endpoint URL for a bearer challenge, or why it cannot be used. */
export function tokenUrl(
  challenge: Challenge,
  scope: string,
  registryIsHttps: boolean,
  withCredential: boolean,
): URL | string {
  const realm = challenge.params.realm;
  if (!realm) return 'its Bearer challenge has no realm';
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    return `its token realm ${JSON.stringify(realm)} is not a URL`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `its token realm ${realm} is not http(s)`;
  // Credentials go over TLS whenever the registry itself is reached over TLS.
  if (url.protocol === 'http:' && registryIsHttps && withCredential)
    return `its token realm ${realm} is plain HTTP; credentials are not sent there`;
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  url.searchParams.set('scope', challenge.params.scope || scope);
  return url;
}

/** Reads `{token}` or `{access_token}` with `expires_in`; throws a coded error otherwise. */
export function parseTokenResponse(res: HttpResponse, registry: string, now: number): CachedToken {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new BaseError(
      'REGISTRY_AUTH_FAILED',
      `the token service of registry ${registry} answered with something that is not JSON`,
    );
  }
  const token =
    typeof doc?.token === 'string' && doc.token
      ? doc.token
      : typeof doc?.access_token === 'string'
        ? doc.access_token
        : '';
  if (!token)
    throw new BaseError('REGISTRY_AUTH_FAILED', `the token service of registry ${registry} answered without a token`);
  const seconds = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULT_TOKEN_SECONDS;
  return { token, expiresAt: now + seconds * 1000 - EXPIRY_MARGIN_MS };
}

/**
 * What the client remembers about registries' authentication: the challenge each origin
 * answered with (so later requests authenticate up front) and bearer tokens until they
 * expire, at most 512 (least recently used dropped first). Concurrent fetches of one
 * token are merged by lru-cache's fetch.
 */
export class AuthState {
  #tokens: LRUCache<string, string, () => Promise<CachedToken>>;
  /** Origin -> the challenge it answered with last. */
  #challenges = new Map<string, Challenge>();

  constructor(now: () => number) {
    this.#tokens = new LRUCache({
      max: 512,
      // The client's clock (injectable), read on every check; +1: lru-cache takes a start time of 0 for "no TTL".
      perf: { now: () => now() + 1 },
      ttlResolution: 0,
      fetchMethod: async (_key, _stale, { options, context: fetchToken }) => {
        const { token, expiresAt } = await fetchToken();
        options.ttl = Math.max(1, expiresAt - now());
        return token;
      },
    });
  }

  rememberChallenge(origin: string, challenge: Challenge): void {
    this.#challenges.set(origin, challenge);
  }

  challengeFor(origin: string): Challenge | undefined {
    return this.#challenges.get(origin);
  }

  forgetToken(key: string): void {
    this.#tokens.delete(key);
  }

  /** The cached token, or one fetched with `fetchToken` (merged with a fetch already under way). */
  async token(key: string, fetchToken: () => Promise<CachedToken>): Promise<string> {
    const token = await this.#tokens.fetch(key, { context: fetchToken });
    if (token === undefined) throw new BaseError('REGISTRY_AUTH_FAILED', 'no token was obtained');
    return token;
  }
}
