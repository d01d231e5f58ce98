// ImagePolicy globs in the same canonical form as the image names they are matched
// against (rules/images/reference.ts): otherwise `REGISTRY.example.com:443/**` would
// match nothing, and a pod could escape `registry.example.com/**` by spelling the host
// differently. Both sides go through registry/host.ts.

import { canonicalRegistryHost, DOCKER_HUB, namesRegistry } from '../registry/host.ts';

/** `nginx` and `docker.io/nginx` are `docker.io/library/nginx`; `**` stays a wildcard. */
function dockerHub(path: string): string {
  return !path.includes('/') && !path.includes('**') ? `${DOCKER_HUB}/library/${path}` : `${DOCKER_HUB}/${path}`;
}

/**
 * The canonical spelling of an image glob (`registry/repository` with wildcards):
 * lower-cased (repository names are lower-case by grammar, hosts are case-insensitive);
 * a literal registry host canonicalised (default ports dropped, Docker Hub aliases as
 * `docker.io`); a glob without a registry read as a Docker Hub name, as a runtime reads
 * `nginx`. A registry part with wildcards (`*.example.com/**`, `**`) is only lower-cased.
 */
export function canonicalImageGlob(glob: string): string {
  const slash = glob.indexOf('/');
  const first = slash < 0 ? glob : glob.slice(0, slash);
  const lower = glob.toLowerCase();
  if (/[*?]/.test(first)) return lower;
  if (!namesRegistry(first)) return dockerHub(lower);
  if (slash < 0) return canonicalRegistryHost(first);
  const host = canonicalRegistryHost(first);
  const rest = lower.slice(slash + 1);
  return host === DOCKER_HUB ? dockerHub(rest) : `${host}/${rest}`;
}
