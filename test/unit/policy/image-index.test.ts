// ImagePolicies are found by the literal prefix of their globs, not by testing every glob
// of every policy: an image meets the globs of its own registry and repository (and those
// that start with a wildcard), however many policies there are for others.
import { describe, expect, it } from 'vitest';
import type { CompiledImagePolicy } from '../../../src/policy/compiled.ts';
import { compileGlob } from '../../../src/policy/glob.ts';
import { canonicalImageGlob } from '../../../src/policy/image-glob.ts';
import { buildImageIndex } from '../../../src/policy/image-index.ts';
import { planImages } from '../../../src/rules/images/plan.ts';
import { imagePolicy, P256_PUBLIC_KEY } from '../../helpers/policies.ts';
import { variant } from '../../helpers/reviews.ts';
import { compiler, snapshotOf } from '../../helpers/snapshots.ts';

let regexTests = 0;
class CountingRegExp extends RegExp {
  override test(text: string): boolean {
    regexTests++;
    return super.test(text);
  }
}

function policy(name: string, globs: string[], extra: Partial<CompiledImagePolicy> = {}): CompiledImagePolicy {
  const result = compiler.image(
    imagePolicy(name, {
      images: globs,
      authorities: [{ name: 'k', key: { publicKey: P256_PUBLIC_KEY } }],
      unmatchedImages: 'Allow',
    }),
  );
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  const counted = result.policy.images.map((g) => ({ ...g, regex: new CountingRegExp(g.regex.source) }));
  return { ...result.policy, images: counted, ...extra };
}

describe('image policy index', () => {
  const teams = Array.from({ length: 1000 }, (_, i) => policy(`team-${i}`, [`registry.example.com/team-${i}/**`]));
  const shop = policy('shop', ['registry.example.com/shop/**', 'registry.example.com/shop-legacy/app']);
  const everywhere = policy('everywhere', ['*.example.com/**']);

  it('meets only the globs whose literal prefix the image starts with', () => {
    const index = buildImageIndex([...teams, shop, everywhere]);
    regexTests = 0;
    expect(index.matching('registry.example.com/shop/web').map((p) => p.name)).toEqual(['shop', 'everywhere']);
    // shop/** and the wildcard-led glob; none of the 1,000 other teams' globs.
    expect(regexTests).toBe(2);
    expect(index.matching('registry.example.com/team-7/api').map((p) => p.name)).toEqual(['team-7', 'everywhere']);
    expect(index.matching('docker.io/library/nginx').map((p) => p.name)).toEqual([]);
  });

  it('tests the glob itself, not only its prefix, and keeps the snapshot order', () => {
    const index = buildImageIndex([everywhere, shop]);
    expect(index.matching('registry.example.com/shop-legacy/app').map((p) => p.name)).toEqual(['everywhere', 'shop']);
    expect(index.matching('registry.example.com/shop-legacy/other').map((p) => p.name)).toEqual(['everywhere']);
    expect(index.matching('registry.example.com/shopping/app').map((p) => p.name)).toEqual(['everywhere']);
    expect(index.matching('').map((p) => p.name)).toEqual([]);
  });

  it('keeps aside what denies whatever its globs say: invalid policies and those denying unmatched images', () => {
    const denying = policy('deny-unmatched', ['registry.example.com/x/**'], { unmatchedImages: 'Deny' });
    const invalid = policy('broken', ['registry.example.com/x/**'], {
      images: [],
      invalid: 'spec.images: is required',
      unmatchedImages: 'Deny',
    });
    const index = buildImageIndex([shop, denying, invalid]);
    expect(index.namespaceWide.map((p) => p.name)).toEqual(['deny-unmatched', 'broken']);
    expect(index.matching('registry.example.com/x/app').map((p) => p.name)).toEqual(['deny-unmatched']);
  });

  it('still denies an image that cannot be parsed where any policy applies, and only there', () => {
    const review = variant('pod-create', (r) => {
      (r.request.object as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image =
        'Not A Reference!';
    });
    const plan = planImages(review.request, snapshotOf({ images: [shop] }), {});
    expect(plan.checks[0]).toMatchObject({ problem: expect.stringContaining('is not a valid image reference') });
    const elsewhere = policy('elsewhere', ['registry.example.com/**'], { matchNamespace: () => 'no-match' });
    expect(planImages(review.request, snapshotOf({ images: [elsewhere] }), {}).checks).toEqual([]);
  });

  it('globs are indexed in the canonical spelling images are compared in', () => {
    expect(compileGlob(canonicalImageGlob('REGISTRY.example.com:443/shop/**')).literalPrefix).toBe(
      'registry.example.com/shop/',
    );
    expect(compileGlob(canonicalImageGlob('nginx')).literalPrefix).toBe('docker.io/library/nginx');
  });
});
