// Image references parsed by the distribution reference grammar, normalised the way
// the container runtime resolves them: `nginx` is `docker.io/library/nginx:latest`,
// `Registry.Example.com:443/app` is `registry.example.com/app` (registry/host.ts).

import { canonicalRegistryHost, DOCKER_HUB, namesRegistry } from '../../registry/host.ts';

export interface ImageReference {
  /** The text as written in the pod spec. */
  original: string;
  /** Registry host in its canonical spelling, with a non-default port: `docker.io`, `registry.local:5000`. */
  registry: string;
  /** Repository path within the registry: `library/nginx`. */
  repository: string;
  tag?: string;
  /** `sha256:<64 hex>` when the reference pins a digest. */
  digest?: string;
}

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(
  `^(?:(${DOMAIN})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);
const SHA256 = /^sha256:[0-9a-f]{64}$/;

export type ParseResult = { ok: true; reference: ImageReference } | { ok: false; problem: string };

/** Parsed references by text: a pod's images are parsed twice per review (shell and core), and again per pod. */
const parsed = new Map<string, ParseResult>();
const MAX_PARSED = 1024;

/** The parsed reference (frozen: shared by every review that names the same image). */
export function parseImageReference(text: string): ParseResult {
  let result = parsed.get(text);
  if (result === undefined) {
    result = Object.freeze(parse(text));
    if (result.ok) Object.freeze(result.reference);
    // Past the bound the map starts over: a flood of distinct names costs a parse each, as before.
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(text, result);
  }
  return result;
}

function parse(text: string): ParseResult {
  if (text.length === 0) return { ok: false, problem: 'the image is empty' };
  if (text.length > 4096) return { ok: false, problem: 'the image reference is longer than 4096 characters' };
  const match = REFERENCE.exec(text);
  if (!match) return { ok: false, problem: `${JSON.stringify(text)} is not a valid image reference` };
  let [, domain, path, tag, digest] = match;
  // The first component is a registry only if it looks like one (see namesRegistry);
  // otherwise it is a Docker Hub namespace such as `bitnami/`.
  if (domain !== undefined && !namesRegistry(domain)) {
    path = `${domain}/${path}`;
    domain = undefined;
  }
  const registry = domain === undefined ? DOCKER_HUB : canonicalRegistryHost(domain);
  const repository = registry === DOCKER_HUB && !path!.includes('/') ? `library/${path}` : path!;
  if (repository.length > 255)
    return { ok: false, problem: `${JSON.stringify(text)} has a repository name longer than 255 characters` };
  if (digest !== undefined && !SHA256.test(digest)) {
    return { ok: false, problem: `${JSON.stringify(text)} pins a digest that is not sha256:<64 lower-case hex>` };
  }
  return {
    ok: true,
    reference: { original: text, registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) },
  };
}

/** `registry/repository`, the name policies' image globs are matched against. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The canonical pinned form: `registry/repository@sha256:...`. */
export function pinned(ref: ImageReference, digest: string): string {
  return `${repositoryName(ref)}@${digest}`;
}
