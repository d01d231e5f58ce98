// Registry credentials from Docker config files (the `.dockerconfigjson` of a
// kubernetes.io/dockerconfigjson Secret, or the older `.dockercfg`), looked up by host
// the way the kubelet does: keys may be bare hosts or URLs such as
// `https://index.docker.io/v1/`.

import { BaseError, messageOf } from '../errors.ts';
import { canonicalRegistryHost } from './host.ts';

export interface RegistryCredential {
  username: string;
  password: string;
  /** Where it came from, for messages (`Secret ci/pull-creds`); never the secret itself. */
  source: string;
}

/** One parsed Docker config: host key (as written) -> credential. */
export type DockerConfig = ReadonlyMap<string, RegistryCredential>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses `{"auths": {host: {auth | username+password}}}` (dockerconfigjson) or the legacy
 * `{host: {...}}` (dockercfg). Entries without usable credentials (identity tokens,
 * empty auth) are skipped; a document that is not a JSON object is a SECRET_UNAVAILABLE error.
 */
export function parseDockerConfig(text: string, source: string): DockerConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // JSON.parse's message quotes the text around the error, password included: it must not
    // reach a denial, an audit annotation or a log. Only the position is kept, and no cause.
    const position = /position (\d+)/.exec(messageOf(err))?.[1];
    const where = position === undefined ? '' : ` (at character ${position} of ${text.length})`;
    throw new BaseError('SECRET_UNAVAILABLE', `${source} is not a Docker config: not valid JSON${where}`);
  }
  if (!isRecord(doc)) throw new BaseError('SECRET_UNAVAILABLE', `${source} is not a Docker config: not a JSON object`);
  const auths = isRecord(doc.auths) ? doc.auths : doc;
  const result = new Map<string, RegistryCredential>();
  for (const [host, entry] of Object.entries(auths)) {
    if (!isRecord(entry)) continue;
    let username = typeof entry.username === 'string' ? entry.username : '';
    let password = typeof entry.password === 'string' ? entry.password : '';
    if (typeof entry.auth === 'string' && entry.auth !== '') {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        username = decoded.slice(0, colon);
        password = decoded.slice(colon + 1);
      }
    }
    if (username !== '' || password !== '') result.set(host, { username, password, source });
  }
  return result;
}

/** `https://index.docker.io/v1/` -> `docker.io`; `Registry.Local:5000/path` -> `registry.local:5000`. */
export function normaliseRegistryHost(key: string): string {
  let host = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = host.indexOf('/');
  if (slash >= 0) host = host.slice(0, slash);
  return canonicalRegistryHost(host);
}

/** The credentials for `registry` (host[:port]) in each config, in the order given. */
export function credentialsFor(registry: string, configs: readonly DockerConfig[]): RegistryCredential[] {
  const wanted = normaliseRegistryHost(registry);
  const found: RegistryCredential[] = [];
  for (const config of configs) {
    for (const [key, credential] of config) {
      if (
        normaliseRegistryHost(key) === wanted &&
        !found.some((c) => c.username === credential.username && c.password === credential.password)
      ) {
        found.push(credential);
      }
    }
  }
  return found;
}
