// Registry spellings: every way of writing one registry must land on one canonical
// name, on both sides of a glob match (pod references and policy globs), so that no
// spelling escapes a policy written for another.

import { describe, expect, it } from 'vitest';
import { compileGlob } from '../../../src/policy/glob.ts';
import { canonicalImageGlob } from '../../../src/policy/image-glob.ts';
import { canonicalRegistryHost } from '../../../src/registry/host.ts';
import { parseImageReference, repositoryName } from '../../../src/rules/images/reference.ts';

const D = `sha256:${'a'.repeat(64)}`;

function nameOf(text: string): string {
  const r = parseImageReference(text);
  if (!r.ok) throw new Error(r.problem);
  return repositoryName(r.reference);
}

describe('registry hosts', () => {
  it.each([
    ['registry.example.com', 'registry.example.com'],
    ['Registry.EXAMPLE.com', 'registry.example.com'],
    ['registry.example.com:443', 'registry.example.com'],
    ['registry.example.com:80', 'registry.example.com'],
    ['registry.example.com:5000', 'registry.example.com:5000'],
    ['registry.example.com:4430', 'registry.example.com:4430'],
    ['docker.io', 'docker.io'],
    ['docker.io:443', 'docker.io'],
    ['DOCKER.IO', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['index.docker.io:443', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['registry.hub.docker.com', 'docker.io'],
    ['LOCALHOST', 'localhost'],
    ['localhost:443', 'localhost'],
    ['LocalHost:5000', 'localhost:5000'],
    ['[::1]:443', '[::1]'],
    ['[FE80::1]:5000', '[fe80::1]:5000'],
  ])('%s -> %s', (host, canonical) => {
    expect(canonicalRegistryHost(host)).toBe(canonical);
  });
});

describe('pod image references, as the runtime resolves them', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx'],
    [`docker.io/nginx@${D}`, 'docker.io/library/nginx'],
    [`DOCKER.IO:443/nginx@${D}`, 'docker.io/library/nginx'],
    [`docker.io:443/library/nginx@${D}`, 'docker.io/library/nginx'],
    [`index.docker.io/library/nginx@${D}`, 'docker.io/library/nginx'],
    [`registry-1.docker.io:443/bitnami/redis@${D}`, 'docker.io/bitnami/redis'],
    [`Registry.Example.com/shop/app@${D}`, 'registry.example.com/shop/app'],
    [`registry.example.com:443/shop/app@${D}`, 'registry.example.com/shop/app'],
    [`REGISTRY.EXAMPLE.COM:443/shop/app@${D}`, 'registry.example.com/shop/app'],
    [`LOCALHOST/app@${D}`, 'localhost/app'],
    [`LOCALHOST:5000/app@${D}`, 'localhost:5000/app'],
    // An upper-case first component is a registry to the distribution grammar (and to the runtime).
    [`Shop/app@${D}`, 'shop/app'],
    ['bitnami/redis:7', 'docker.io/bitnami/redis'],
  ])('%s -> %s', (text, name) => {
    expect(nameOf(text)).toBe(name);
  });

  it('keeps the text as written for messages', () => {
    const r = parseImageReference(`DOCKER.IO:443/nginx@${D}`);
    expect(r.ok && r.reference.original).toBe(`DOCKER.IO:443/nginx@${D}`);
  });
});

describe('policy globs, in the same spelling', () => {
  it.each([
    ['registry.example.com/**', 'registry.example.com/**'],
    ['Registry.Example.COM:443/shop/**', 'registry.example.com/shop/**'],
    ['registry.example.com:5000/**', 'registry.example.com:5000/**'],
    ['index.docker.io/library/*', 'docker.io/library/*'],
    ['docker.io:443/**', 'docker.io/**'],
    ['docker.io/nginx', 'docker.io/library/nginx'],
    ['docker.io/*', 'docker.io/library/*'],
    ['nginx', 'docker.io/library/nginx'],
    ['bitnami/*', 'docker.io/bitnami/*'],
    ['LOCALHOST:5000/**', 'localhost:5000/**'],
    ['**', '**'],
    ['*.Example.com/**', '*.example.com/**'],
  ])('%s -> %s', (glob, canonical) => {
    expect(canonicalImageGlob(glob)).toBe(canonical);
  });

  // Every spelling of a registry a pod may use is matched by a glob in any spelling.
  const spellings: [string, string[]][] = [
    [
      'registry.example.com/**',
      ['Registry.Example.com', 'REGISTRY.EXAMPLE.COM:443', 'registry.example.com:80', 'registry.example.com'],
    ],
    ['REGISTRY.example.com:443/**', ['registry.example.com', 'Registry.Example.com:443']],
    [
      'docker.io/library/**',
      ['docker.io', 'docker.io:443', 'DOCKER.IO', 'index.docker.io', 'index.docker.io:443', 'registry-1.docker.io'],
    ],
    ['localhost:5000/**', ['LOCALHOST:5000', 'localhost:5000', 'LocalHost:5000']],
  ];
  for (const [glob, hosts] of spellings) {
    it.each(hosts)(`${glob} matches %s`, (host) => {
      const image = `${host}/${glob.startsWith('docker') ? 'library/' : ''}app@${D}`;
      expect(compileGlob(canonicalImageGlob(glob)).regex.test(nameOf(image))).toBe(true);
    });
  }

  it('does not widen a glob to another registry or port', () => {
    const glob = compileGlob(canonicalImageGlob('registry.example.com/**'));
    expect(glob.regex.test(nameOf(`registry.example.com:5000/app@${D}`))).toBe(false);
    expect(glob.regex.test(nameOf(`registry.example.com.evil/app@${D}`))).toBe(false);
  });
});
