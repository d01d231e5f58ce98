// `bulwark check -f ... --snapshot FILE`: every locked object that would change is listed
// with the webhook's own message, the UnlockRequest it needs and the command that binds
// an approval to exactly this change; once that UnlockRequest is approved (added to the
// snapshot), the same manifests pass. Bad input exits 2.

import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { applied } from '../../../src/cli/check/check.ts';
import { main } from '../../../src/cli/main.ts';
import { run } from '../../helpers/run-cli.ts';

const EXAMPLE = resolve(import.meta.dirname, '..', '..', '..', 'examples', 'check');
const MANIFESTS = join(EXAMPLE, 'manifests');
const SNAPSHOT = join(EXAMPLE, 'snapshot.yaml');
const NOW = '2026-11-29T10:30:00Z';

afterEach(() => vi.restoreAllMocks());

describe('bulwark check', () => {
  it('lists the locked object that would change, why, and the unlock command (exit 1)', async () => {
    const r = await run(main, ['check', '-f', MANIFESTS, '--snapshot', SNAPSHOT, '--now', NOW]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('DENY ConfigMap payments/app-config (locked,');
    expect(r.stdout).toContain(
      'ConfigMap payments/app-config is locked (labelled bulwark.dev/immutable=true); ' +
        'this update would change data.color (changed)',
    );
    expect(r.stdout).toContain('2 approvals from platform-leads (ImmutabilityPolicy prod-config), at most 2h');
    expect(r.stdout).toContain(
      `kubectl bulwark unlock request configmap/app-config -n payments --operation UPDATE --reason ` +
        `'TODO: why this change is needed' --patch '[{"op":"replace","path":"/data/color","value":"green"}]'`,
    );
    expect(r.stdout).not.toContain('Deployment payments/web'); // scaling is allowed by its policy
    expect(r.stdout).toContain('3 manifests: 1 would be denied, 2 allowed');
  });

  it('passes once the UnlockRequest for exactly that patch is approved', async () => {
    const json = await run(main, ['check', '-f', MANIFESTS, '--snapshot', SNAPSHOT, '--now', NOW, '-o', 'json']);
    const denied = JSON.parse(json.stdout).results.find((r: { allowed: boolean }) => !r.allowed);
    const snapshot = parse(await readFile(SNAPSHOT, 'utf8'));
    snapshot.unlocks = [
      {
        apiVersion: 'bulwark.dev/v1alpha1',
        kind: 'UnlockRequest',
        metadata: { name: 'unlock-app-config', creationTimestamp: '2026-11-29T10:10:00Z' },
        spec: {
          target: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'payments', name: 'app-config' },
          operations: ['UPDATE'],
          reason: 'winter colours',
          duration: '1h',
          requester: 'alice',
          change: { patch: denied.patch },
          approvals: [
            { user: 'bob', groups: ['platform-leads'] },
            { user: 'carol', groups: ['platform-leads'] },
          ],
        },
      },
    ];
    const file = join(await mkdtemp(join(tmpdir(), 'bulwark-check-')), 'snapshot.yaml');
    await writeFile(file, stringify(snapshot));
    const r = await run(main, ['check', '-f', MANIFESTS, '--snapshot', file, '--now', NOW]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('WARN ConfigMap payments/app-config');
    expect(r.stdout).toContain('UnlockRequest unlock-app-config (requested by alice, approved by bob, carol)');
    // Expired: the same request no longer lets it through.
    const later = await run(main, ['check', '-f', MANIFESTS, '--snapshot', file, '--now', '2026-11-29T11:30:00Z']);
    expect(later.code).toBe(1);
  });

  it('exits 2 on bad input: a broken snapshot, no snapshot, a manifest without a name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-check-'));
    await writeFile(join(dir, 'bad.yaml'), 'apiVersion: cli.bulwark.dev/v1alpha1\nkind: ClusterSnapshot\n');
    const broken = await run(main, ['check', '-f', MANIFESTS, '--snapshot', join(dir, 'bad.yaml')]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('bad.yaml: takenAt: must be an RFC 3339 time');
    expect((await run(main, ['check', '-f', MANIFESTS])).stderr).toContain('exactly one of --snapshot');
    await writeFile(join(dir, 'nameless.yaml'), 'apiVersion: v1\nkind: ConfigMap\n');
    const nameless = await run(main, ['check', '-f', join(dir, 'nameless.yaml'), '--snapshot', SNAPSHOT]);
    expect(nameless.code).toBe(2);
    expect(nameless.stderr).toContain('nameless.yaml: a manifest needs apiVersion, kind and metadata.name');
  });

  it('lays a manifest over the live object as an apply does: maps merged, lists replaced', () => {
    const live = {
      apiVersion: 'v1',
      kind: 'X',
      metadata: { name: 'a', labels: { k: 'v' } },
      spec: { l: [1, 2], m: 1 },
    };
    expect(applied(live, { spec: { l: [3] }, metadata: { labels: { j: 'w' } } })).toEqual({
      apiVersion: 'v1',
      kind: 'X',
      metadata: { name: 'a', labels: { k: 'v', j: 'w' } },
      spec: { l: [3], m: 1 },
    });
  });
});
