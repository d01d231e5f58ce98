// Index of ImagePolicies by the literal text their image globs start with
// (CompiledGlob.literalPrefix), a character trie: an image name walks it once and meets
// only the globs whose prefix it starts with, so a pod's images cost what the policies
// for their registry and repository cost, however many policies exist for others.
// Policies that deny images whatever their globs say (invalid ones, and those that deny
// images no policy matches) are kept aside: they apply wherever their namespace match does.

import type { CompiledImagePolicy } from './compiled.ts';
import type { CompiledGlob } from './glob.ts';

export interface ImageIndex {
  /** Valid policies with a glob that matches `name` (canonical `registry/repository`), in snapshot order. */
  matching(name: string): readonly CompiledImagePolicy[];
  /** Policies that deny an image no glob matches: invalid ones (they deny every image) and `unmatchedImages: Deny`. */
  readonly namespaceWide: readonly CompiledImagePolicy[];
}

interface Node {
  next: Map<string, Node>;
  globs: { glob: CompiledGlob; policy: CompiledImagePolicy }[];
}

const node = (): Node => ({ next: new Map(), globs: [] });

export function buildImageIndex(policies: readonly CompiledImagePolicy[]): ImageIndex {
  const root = node();
  const order = new Map<CompiledImagePolicy, number>();
  policies.forEach((policy, i) => {
    order.set(policy, i);
    if (policy.invalid !== undefined) return;
    for (const glob of policy.images) {
      let at = root;
      for (const c of glob.literalPrefix) {
        const child = at.next.get(c) ?? node();
        at.next.set(c, child);
        at = child;
      }
      at.globs.push({ glob, policy });
    }
  });
  const namespaceWide = policies.filter((p) => p.invalid !== undefined || p.unmatchedImages === 'Deny');
  return {
    namespaceWide,
    matching(name) {
      const found = new Set<CompiledImagePolicy>();
      let at: Node | undefined = root;
      for (let i = 0; at; at = at.next.get(name.charAt(i++))) {
        for (const { glob, policy } of at.globs) if (!found.has(policy) && glob.regex.test(name)) found.add(policy);
        if (i >= name.length) break;
      }
      return [...found].sort((a, b) => order.get(a)! - order.get(b)!);
    },
  };
}
