// One spelling per registry host, as the container runtime reaches it. Policies' image
// globs, pods' image references and credential lookups all go through this, so that
// `Registry.Example.com:443`, `registry.example.com` and `REGISTRY.example.com` are one
// registry and no spelling can slip past a glob written for another.

export const DOCKER_HUB = 'docker.io';

/** Names under which Docker Hub serves the same repositories. */
const DOCKER_HUB_ALIASES = new Set([DOCKER_HUB, 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/**
 * `host[:port]` lower-cased (DNS names and IPv6 hex are case-insensitive), without the
 * default port of https (443) or plain http (80), and Docker Hub's aliases as `docker.io`.
 * Dropping :80 as well as :443 only ever makes more spellings match a glob: the
 * verifier then reaches the registry at the default port of the scheme the policy says
 * (`insecure`: http, port 80; otherwise https, port 443).
 */
export function canonicalRegistryHost(host: string): string {
  const lower = host.toLowerCase().replace(/:(?:443|80)$/, '');
  return DOCKER_HUB_ALIASES.has(lower) ? DOCKER_HUB : lower;
}

/**
 * Whether the first path component of a reference names a registry rather than a Docker
 * Hub namespace, by the rule of the distribution reference grammar (and so of every
 * runtime that uses it): it holds a `.` or `:`, is `localhost`, or has an upper-case
 * letter (repository components never do).
 */
export function namesRegistry(component: string): boolean {
  return /[.:[]/.test(component) || component === 'localhost' || component !== component.toLowerCase();
}
