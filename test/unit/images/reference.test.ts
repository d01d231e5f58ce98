import { describe, expect, it } from 'vitest';
import { parseImageReference, repositoryName } from '../../../src/rules/images/reference.ts';

const D = `sha256:${'a'.repeat(64)}`;

describe('image references', () => {
  it.each([
    ['nginx', 'docker.io', 'library/nginx', undefined, undefined],
    ['nginx:1.27', 'docker.io', 'library/nginx', '1.27', undefined],
    ['bitnami/redis:7', 'docker.io', 'bitnami/redis', '7', undefined],
    ['index.docker.io/library/nginx', 'docker.io', 'library/nginx', undefined, undefined],
    [`registry.local:5000/shop/web@${D}`, 'registry.local:5000', 'shop/web', undefined, D],
    [`ghcr.io/org/app:v1@${D}`, 'ghcr.io', 'org/app', 'v1', D],
    ['localhost/app', 'localhost', 'app', undefined, undefined],
    ['localhost:5000/a/b/c:tag', 'localhost:5000', 'a/b/c', 'tag', undefined],
    ['[::1]:5000/app', '[::1]:5000', 'app', undefined, undefined],
  ])('%s', (text, registry, repository, tag, digest) => {
    const r = parseImageReference(text);
    expect(r.ok).toBe(true);
    if (r.ok)
      expect({
        registry: r.reference.registry,
        repository: r.reference.repository,
        tag: r.reference.tag,
        digest: r.reference.digest,
      }).toEqual({ registry, repository, tag, digest });
  });

  it.each([
    ['', /empty/],
    ['Nginx', /not a valid image reference/],
    ['nginx@sha256:abc', /not a valid image reference/],
    [`nginx@sha512:${'a'.repeat(128)}`, /not sha256/],
    [`nginx@sha256:${'A'.repeat(64)}`, /not sha256/],
    ['registry.local:5000/shop/web:has space', /not a valid/],
  ])('refuses %j', (text, problem) => {
    const r = parseImageReference(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toMatch(problem);
  });

  it('names the repository as policies match it', () => {
    const r = parseImageReference('nginx:1.27');
    expect(r.ok && repositoryName(r.reference)).toBe('docker.io/library/nginx');
  });
});
