// The loop's half of the namespace marks (ledger/namespace-marks.ts): after a scan it patches
// each namespace whose marks should change, with the resourceVersion it read as precondition
// (a 409 leaves the namespace as it is), and never adds a mark from an incomplete listing.

import { describe, expect, it } from 'vitest';
import type { KubeClient } from '../../../src/cluster/kube-client.ts';
import { updateNamespaceMarks } from '../../../src/ledger/namespace-marks.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { builtinSnapshot } from '../../helpers/snapshots.ts';

const NOW = Date.parse('2026-11-29T09:00:00Z');
const namespaces = [
  { metadata: { name: 'empty', resourceVersion: '11' } },
  { metadata: { name: 'locked', resourceVersion: '12', labels: { 'bulwark.dev/locks': 'none' } } },
  {
    metadata: {
      name: 'done',
      resourceVersion: '13',
      labels: { 'bulwark.dev/locks': 'none', 'bulwark.dev/images': 'none' },
    },
  },
  { metadata: { name: 'racing', resourceVersion: '14' } },
  { metadata: { name: 'going', resourceVersion: '15', deletionTimestamp: '2026-11-29T08:00:00Z' } },
];

function fakeClient() {
  const calls: { path: string; body: unknown }[] = [];
  const client = {
    getJson: () => Promise.resolve({ items: namespaces }),
    call: (_method: string, path: string, options: { body?: string }) => {
      calls.push({ path, body: JSON.parse(options.body ?? 'null') });
      return Promise.resolve({ status: path.endsWith('/racing') ? 409 : 200, body: {} });
    },
  } as unknown as KubeClient;
  return { client, calls };
}

const run = (client: KubeClient, listingComplete = true) =>
  updateNamespaceMarks({
    client,
    logger: createLogger('silent'),
    snapshot: builtinSnapshot(),
    lockedNamespaces: new Set(['locked']),
    listingComplete,
    now: NOW,
  });

describe('updateNamespaceMarks', () => {
  it('marks, unmarks and leaves alone, each patch conditional on what was read', async () => {
    const { client, calls } = fakeClient();
    expect(await run(client)).toEqual({ marked: 2, unmarked: 1, conflicts: 1 });
    expect(calls).toEqual([
      {
        path: '/api/v1/namespaces/empty',
        body: {
          metadata: { resourceVersion: '11', labels: { 'bulwark.dev/locks': 'none', 'bulwark.dev/images': 'none' } },
        },
      },
      {
        path: '/api/v1/namespaces/locked',
        body: {
          metadata: { resourceVersion: '12', labels: { 'bulwark.dev/locks': null, 'bulwark.dev/images': 'none' } },
        },
      },
      {
        path: '/api/v1/namespaces/racing',
        body: {
          metadata: { resourceVersion: '14', labels: { 'bulwark.dev/locks': 'none', 'bulwark.dev/images': 'none' } },
        },
      },
    ]);
  });

  it('adds no locks mark from an incomplete listing', async () => {
    const { client, calls } = fakeClient();
    await run(client, false);
    for (const { body } of calls)
      expect((body as { metadata: { labels: Record<string, unknown> } }).metadata.labels['bulwark.dev/locks']).not.toBe(
        'none',
      );
  });
});
