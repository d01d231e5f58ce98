// The namespace claim (cluster/namespace-claim.ts) through the fact resolver: a request that
// puts a lock into a namespace first removes the namespace's bulwark.dev/locks mark and
// stamps the minute, with one merge patch; a dry run, or a request adding no lock, writes
// nothing; a failed patch becomes a fact the core denies on.

import { describe, expect, it } from 'vitest';
import { clusterFactResolver } from '../../../src/cluster/facts.ts';
import type { KubeReader } from '../../../src/cluster/kube-client.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { variant } from '../../helpers/reviews.ts';
import { builtinSnapshot } from '../../helpers/snapshots.ts';

const NOW = Date.parse('2026-11-29T09:00:42Z');

function recordingReader(fail?: Error) {
  const patches: { path: string; patch: unknown }[] = [];
  const reader = {
    server: 'https://unused',
    getJson: () => Promise.resolve(undefined),
    mergePatch: (path: string, patch: unknown) => {
      patches.push({ path, patch });
      return fail ? Promise.reject(fail) : Promise.resolve({});
    },
  } as unknown as KubeReader;
  return { reader, patches };
}

const resolve = (reader: KubeReader, name: string, edit?: Parameters<typeof variant>[1]) => {
  const review = edit ? variant(name, edit) : loadReview(name);
  return clusterFactResolver({ reader, timeoutMs: 1000, now: () => NOW })(review.request, builtinSnapshot());
};

describe('the namespace claim', () => {
  it('removes the mark and stamps the minute before a lock is created', async () => {
    const { reader, patches } = recordingReader();
    const facts = await resolve(reader, 'configmap-create-labelled');
    expect(facts.namespaceClaim).toEqual({ status: 'claimed' });
    expect(patches).toEqual([
      {
        path: '/api/v1/namespaces/demo',
        patch: {
          metadata: {
            labels: { 'bulwark.dev/locks': null },
            annotations: { 'bulwark.dev/lock-admitted': '2026-11-29T09:00:00.000Z' },
          },
        },
      },
    ]);
  });

  it('writes nothing on a dry run or for a request that adds no lock', async () => {
    const { reader, patches } = recordingReader();
    const dry = await resolve(reader, 'configmap-create-labelled', (r) => {
      r.request.dryRun = true;
    });
    expect(dry.namespaceClaim).toBeUndefined();
    expect((await resolve(reader, 'deployment-create')).namespaceClaim).toBeUndefined();
    expect(patches).toEqual([]);
  });

  it('reports a failed patch, and the core denies the lock', async () => {
    const { reader } = recordingReader(new Error('KUBE_API_ERROR: 403 Forbidden'));
    const facts = await resolve(reader, 'configmap-label-added');
    expect(facts.namespaceClaim).toEqual({ status: 'unavailable', reason: 'KUBE_API_ERROR: 403 Forbidden' });
    const verdict = reviewRequest({
      request: loadReview('configmap-label-added').request,
      snapshot: builtinSnapshot(),
      facts,
    });
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons.join()).toContain(
      'so the lock is not admitted (fail closed): KUBE_API_ERROR: 403 Forbidden',
    );
  });
});
