// The images mark must never be a window (rules/images/images-mark.ts, cluster/images-mark-release.ts):
// an ImagePolicy write first removes the mark from every marked namespace it applies to (and is
// denied when it cannot), and a namespace relabelling that leaves the mark on a namespace a policy
// now applies to is denied. Reviews derived from a captured one (helpers/governance.ts).

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../../src/admission/types.ts';
import { releaseImagesMarks } from '../../../../src/cluster/images-mark-release.ts';
import type { KubeReader } from '../../../../src/cluster/kube-client.ts';
import type { RequestFacts } from '../../../../src/decision/facts.ts';
import type { PolicySnapshot } from '../../../../src/policy/compiled.ts';
import { reviewRequest } from '../../../../src/review/review.ts';
import { marksToRelease } from '../../../../src/rules/images/images-mark.ts';
import { exposed, namespaceRelabel, policyWrite } from '../../../helpers/governance.ts';
import { imagePolicy, P256_PUBLIC_KEY } from '../../../helpers/policies.ts';
import { compiler, snapshotOf } from '../../../helpers/snapshots.ts';

const MARK = { 'bulwark.dev/images': 'none' };

function img(name: string, namespaceSelector?: Record<string, unknown>): KubeObject {
  return imagePolicy(name, {
    images: ['registry.example.com/shop/**'],
    authorities: [{ name: 'release', key: { publicKey: P256_PUBLIC_KEY } }],
    ...(namespaceSelector ? { match: { namespaceSelector } } : {}),
  }) as KubeObject;
}

function snapshot(...images: KubeObject[]): PolicySnapshot {
  return snapshotOf({
    images: images.map((o) => {
      const r = compiler.image(o);
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      return r.policy;
    }),
  });
}

const SHOP = img('shop-images', { matchLabels: { team: 'shop' } });
const NAMESPACES = [
  { name: 'shop', labels: { team: 'shop', ...MARK } },
  { name: 'shop-unmarked', labels: { team: 'shop' } },
  { name: 'web', labels: { team: 'web', ...MARK } },
];

function recordingReader(failFor: ReadonlySet<string> = new Set()) {
  const patched: string[] = [];
  const reader = {
    server: 'https://unused',
    mergePatch: (path: string, patch: unknown) => {
      expect(patch).toEqual({ metadata: { labels: { 'bulwark.dev/images': null } } });
      const name = path.replace('/api/v1/namespaces/', '');
      if (failFor.has(name)) return Promise.reject(new Error('forbidden'));
      patched.push(name);
      return Promise.resolve({});
    },
  } as unknown as KubeReader;
  return { reader, patched };
}

describe('an ImagePolicy write releases the marks of the namespaces it applies to', () => {
  it('names only the marked namespaces the new policy matches', () => {
    expect(marksToRelease(policyWrite('CREATE', { object: SHOP }).request, snapshot(), NAMESPACES)).toEqual(['shop']);
    const everywhere = img('everywhere');
    expect(marksToRelease(policyWrite('CREATE', { object: everywhere }).request, snapshot(), NAMESPACES)).toEqual([
      'shop',
      'web',
    ]);
  });

  it('an update is judged by its new selector (a widening releases more)', () => {
    const widened = img('shop-images', { matchExpressions: [{ key: 'team', operator: 'Exists' }] });
    const request = policyWrite('UPDATE', { oldObject: SHOP, object: widened }).request;
    expect(marksToRelease(request, snapshot(SHOP), NAMESPACES)).toEqual(['shop', 'web']);
  });

  it('removes the marks before the policy is admitted; a dry run or an invalid policy writes nothing', async () => {
    const { reader, patched } = recordingReader();
    const request = policyWrite('CREATE', { object: img('everywhere') }).request;
    expect(await releaseImagesMarks(reader, request, snapshot(), NAMESPACES, { budgetMs: 1000 })).toEqual({
      failures: [],
    });
    expect(patched.sort()).toEqual(['shop', 'web']);
    const dry = { ...request, dryRun: true };
    expect(await releaseImagesMarks(reader, dry, snapshot(), NAMESPACES, { budgetMs: 1000 })).toBeUndefined();
    const invalid = policyWrite('CREATE', { object: imagePolicy('bad', { images: [] }) as KubeObject }).request;
    expect(await releaseImagesMarks(reader, invalid, snapshot(), NAMESPACES, { budgetMs: 1000 })).toBeUndefined();
    expect(patched).toHaveLength(2);
  });

  it('denies the policy, naming each namespace and why, when a mark could not be removed or time ran out', async () => {
    const request = policyWrite('CREATE', { object: img('everywhere') }).request;
    const { reader } = recordingReader(new Set(['web']));
    const failed = await releaseImagesMarks(reader, request, snapshot(), NAMESPACES, { budgetMs: 1000 });
    expect(failed).toEqual({ failures: [{ namespace: 'web', reason: 'forbidden' }] });
    let t = 0;
    const late = await releaseImagesMarks(recordingReader().reader, request, snapshot(), NAMESPACES, {
      budgetMs: 10,
      now: () => (t += 20),
    });
    expect(late?.failures.map((f) => f.reason)).toEqual(['out of time', 'out of time']);
    const verdict = reviewRequest({ request, snapshot: snapshot(), facts: { imagesMarkRelease: failed! } });
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons.join('; ')).toContain(
      'ImagePolicy everywhere is not admitted (fail closed): it applies to namespaces marked bulwark.dev/images=none',
    );
    expect(verdict.reasons.join('; ')).toContain('could not be removed from: web (forbidden)');
  });
});

describe('a namespace relabelled into a policy while keeping the images mark', () => {
  const s = snapshot(SHOP);
  const facts: RequestFacts = { exposed: exposed([]) };
  const decide = (before: Record<string, string>, after: Record<string, string>) =>
    reviewRequest({ request: namespaceRelabel('shop', before, after).request, snapshot: s, facts });

  it('is denied, saying how to remove the mark in the same change', () => {
    const verdict = decide({ ...MARK }, { team: 'shop', ...MARK });
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons).toContain(
      'Namespace shop: with these labels ImagePolicy shop-images applies to it, but its bulwark.dev/images=none ' +
        'mark keeps pods away from Bulwark; remove the bulwark.dev/images mark in the same change: ' +
        'kubectl label ns shop bulwark.dev/images-',
    );
  });

  it('adding the mark while a policy applies is denied too (a loop with a stale snapshot included)', () => {
    expect(decide({ team: 'shop' }, { team: 'shop', ...MARK }).allowed).toBe(false);
  });

  it('is allowed when the mark goes in the same change, or when no policy applies', () => {
    expect(decide({ ...MARK }, { team: 'shop' }).allowed).toBe(true);
    expect(decide({ ...MARK }, { team: 'web', ...MARK }).allowed).toBe(true);
  });

  it('leaves alone a change that makes no policy newly apply (a lock claim in a namespace the loop will fix)', () => {
    expect(decide({ team: 'shop', owner: 'a', ...MARK }, { team: 'shop', ...MARK }).allowed).toBe(true);
  });
});
