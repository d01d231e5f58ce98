// The Dockerfile users build: its default base is the official Node image pinned by
// digest, at the Node version the repository itself runs on (the `node` devDependency),
// and nothing in it fetches from a registry that a build argument cannot replace.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../harness/paths.ts';

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

describe('Dockerfile', () => {
  const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1] ?? '';

  it("defaults to the official Node image of the repository's Node version, pinned by digest", () => {
    expect(base).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+-slim@sha256:[0-9a-f]{64}$/);
    expect(base.slice('node:'.length).split('-')[0]).toBe(pkg.devDependencies.node);
  });

  it('takes every image from NODE_IMAGE, so a local base can replace it', () => {
    const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThan(0);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own variable, as written there.
    for (const from of froms) expect(from).toBe('${NODE_IMAGE}');
    // A syntax directive makes BuildKit pull its frontend image from a registry.
    expect(dockerfile).not.toMatch(/^#\s*syntax=/m);
  });

  it("fills the compile cache with the ENTRYPOINT's V8 flags (Node keys the cache by them)", () => {
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[];
    const flags = entrypoint.filter((a) => a.startsWith('--'));
    const warm = /^RUN NODE_COMPILE_CACHE=\S+ node (.*) scripts\/warm-compile-cache\.ts$/m.exec(dockerfile)?.[1];
    expect(flags.length).toBeGreaterThan(0);
    expect(warm?.split(' ')).toEqual(flags);
  });

  it('runs as a fixed non-root user', () => {
    expect(dockerfile).toMatch(/^USER 65532:65532$/m);
  });
});
