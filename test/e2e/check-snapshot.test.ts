// `bulwark snapshot` and `bulwark check --cluster` against the real apiserver: the
// snapshot holds the policies, UnlockRequests, namespace labels and locked objects, and a
// check against it (or the live cluster) denies what the webhook denies; the unlock
// command it prints, once approved, lets the very change through the real webhook.

import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { main } from '../../src/cli/main.ts';
import { run } from '../helpers/run-cli.ts';
import { e2eCluster, kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';

let ns: string;
let dir: string;
const configMap = (color: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cfg', namespace: ns, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
  data: { color },
});

afterEach(() => vi.restoreAllMocks());

beforeAll(async () => {
  ns = await newNamespace('check');
  dir = await mkdtemp(join(tmpdir(), 'bulwark-check-e2e-'));
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: stringify({
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'ImmutabilityPolicy',
      metadata: { name: `check-${ns}` },
      spec: {
        match: { namespaces: [ns] },
        unlock: { approvalsRequired: 1, approverGroups: ['approvers'], maxDuration: '1h' },
      },
    }),
  });
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: stringify(configMap('blue')) });
  await writeFile(join(dir, 'change.yaml'), stringify(configMap('green')));
});

const kube = () => ['--kubeconfig', e2eCluster().kubeconfig, '--context', 'admin'];

describe('bulwark snapshot and check against a real cluster', () => {
  it('writes a snapshot holding the policy, the namespace labels and the locked object', async () => {
    const file = join(dir, 'snapshot.yaml');
    const r = await run(main, ['snapshot', '-o', file, ...kube()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const snapshot = parse(await readFile(file, 'utf8'));
    expect(snapshot).toMatchObject({ kind: 'ClusterSnapshot', lockLabel: LOCK_LABEL });
    expect(snapshot.policies.map((p: { metadata: { name: string } }) => p.metadata.name)).toContain(`check-${ns}`);
    expect(Object.keys(snapshot.namespaces)).toContain(ns);
    const locked = snapshot.objects.find((o: { metadata: { namespace?: string } }) => o.metadata.namespace === ns);
    expect(locked).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', data: { color: 'blue' } });
    expect(locked.metadata.managedFields).toBeUndefined();
  });

  it('denies from the snapshot and from the live cluster alike, with the same message as the webhook', async () => {
    const fromSnapshot = await run(main, [
      'check',
      '-f',
      join(dir, 'change.yaml'),
      '--snapshot',
      join(dir, 'snapshot.yaml'),
    ]);
    const live = await run(main, ['check', '-f', join(dir, 'change.yaml'), '--cluster', ...kube()]);
    const webhook = await kubectl(['apply', '-f', join(dir, 'change.yaml')], { user: 'alice' });
    expect(webhook.code).not.toBe(0);
    for (const r of [fromSnapshot, live]) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toContain(`ConfigMap ${ns}/cfg is locked`);
      expect(webhook.stderr).toContain(r.stdout.split('\n')[1]!.trim());
      expect(r.stdout).toContain(`1 approval from approvers (ImmutabilityPolicy check-${ns})`);
    }
  });

  it('prints an unlock command that, approved, lets exactly that change through the webhook', async () => {
    const r = await run(main, ['check', '-f', join(dir, 'change.yaml'), '--cluster', ...kube(), '-o', 'json']);
    const patch = JSON.parse(r.stdout).results[0].patch;
    const unlock = {
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'UnlockRequest',
      metadata: { name: `unlock-${ns}` },
      spec: {
        target: { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cfg' },
        operations: ['UPDATE'],
        reason: 'e2e',
        duration: '30m',
        requester: 'alice',
        change: { patch },
      },
    };
    await kubectlOk(kubectl, ['create', '-f', '-'], { input: stringify(unlock), user: 'alice' });
    const approve = await run(main, [
      'unlock',
      'approve',
      `unlock-${ns}`,
      '--kubeconfig',
      e2eCluster().kubeconfig,
      '--context',
      'bob',
    ]);
    expect(approve.code, approve.stderr).toBe(0);
    const after = await run(main, ['check', '-f', join(dir, 'change.yaml'), '--cluster', ...kube()]);
    expect(after.code, after.stdout).toBe(0);
    const applied = await kubectl(['apply', '-f', join(dir, 'change.yaml')], { user: 'alice' });
    expect(applied.code, applied.stderr).toBe(0);
  });
});
