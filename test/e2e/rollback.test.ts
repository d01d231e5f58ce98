// Rollback as a pre-approved path on the real apiserver (issue 14). A locked ConfigMap is
// sealed, changed under an approved unlock (2 approvals) and re-sealed; `kubectl bulwark
// rollback` lists its sealed states and, given the earlier content, requests a rollback,
// which the policy lets through with 1 approval (unlock.rollbackApprovals). The same kind of
// change to a state never sealed needs the full count: the plugin refuses it, a rollback
// request for it unlocks nothing, and an ordinary request with one approval is not enough.

import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { kubectl, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { plugin, pluginOk } from './helpers/plugin.ts';
import { approvablePolicy, approvedUnlock, createLockedConfigMap } from './helpers/unlock.ts';
import { sealed } from './helpers/seals.ts';

let ns: string;

/** The ConfigMap as stored now, without what a replace must not carry (resourceVersion), written to a file. */
async function saved(name: string, file: string, edit: (o: { data: Record<string, string> }) => void = () => {}) {
  const object = JSON.parse(await kubectlOk(kubectl, ['get', 'cm', name, '-n', ns, '-o', 'json']));
  delete object.metadata.resourceVersion;
  edit(object);
  const path = join(tmpdir(), `${ns}-${file}.yaml`);
  writeFileSync(path, stringify(object));
  return path;
}

const color = async (name: string) => kubectlOk(kubectl, ['get', 'cm', name, '-n', ns, '-o', 'jsonpath={.data.color}']);

/** Locked (blue), sealed, changed to red under an approved unlock, re-sealed; returns the uid and blue's file. */
async function changedOnce(name: string): Promise<{ uid: string; blue: string; blueHash: string }> {
  const uid = await createLockedConfigMap(ns, name);
  const first = await sealed(uid, () => true);
  const blue = await saved(name, 'blue');
  // Bound to that one change, so that it unlocks nothing afterwards (the rollback needs its own request).
  await approvedUnlock({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name }, ['UPDATE'], {
    patch: [{ op: 'replace', path: '/data/color', value: 'red' }],
  });
  await kubectlOk(kubectl, ['patch', 'cm', name, '-n', ns, '-p', '{"data":{"color":"red"}}'], { user: 'alice' });
  await sealed(uid, (s) => s.spec.current.reason === 'unlocked');
  return { uid, blue, blueHash: first.spec.current.hash };
}

beforeAll(async () => {
  ns = await newNamespace('rollback');
  const policy = parse(approvablePolicy(`rollback-${ns}`, { namespaces: [ns] }));
  policy.spec.unlock.rollbackApprovals = 1;
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: stringify(policy) });
});

describe('rollback to an earlier sealed state', () => {
  it('kubectl bulwark rollback lists the states; a rollback to the previous one needs 1 approval', async () => {
    const { uid, blue, blueHash } = await changedOnce('config');
    const listed = await pluginOk(['rollback', 'configmap/config', '-n', ns], 'dave');
    expect(listed).toContain(`Sealed states of ConfigMap ${ns}/config (newest first):`);
    expect(listed).toMatch(
      /current {2}sha256:[0-9a-f]{64} {2}\S+ {2}unlocked by UnlockRequest unlock-config-\w+, approved by bob, carol/,
    );
    expect(listed).toContain(`-1       ${blueHash}`);

    const out = await pluginOk(
      ['rollback', 'configmap/config', '-n', ns, '-f', blue, '--reason', 'back to blue'],
      'alice',
    );
    const name = /unlockrequest\/(\S+) created/.exec(out)![1]!;
    expect(out).toContain(`once approved, roll back with: kubectl replace -f ${blue} (to ${blueHash}`);
    // Before any approval: denied, naming the rollback's requirement.
    const early = await kubectl(['replace', '-f', blue], { user: 'alice' });
    expect(early.code).not.toBe(0);
    expect(early.stderr).toContain(`UnlockRequest ${name}: it has 0 of the 1 approvals it needs`);

    await pluginOk(['unlock', 'approve', name], 'bob');
    const done = await kubectl(['replace', '-f', blue], { user: 'alice' });
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toContain(`allows this rollback to the sealed state ${blueHash}`);
    expect(await color('config')).toBe('blue');
    const after = await sealed(uid, (s) => s.spec.current.reason === 'rollback');
    expect(after.spec.current).toMatchObject({ hash: blueHash, unlockRequest: name });
  });

  it('a team rolls back with a LocalUnlockRequest in its own namespace (--local)', async () => {
    const { uid, blue, blueHash } = await changedOnce('team');
    const out = await pluginOk(
      ['rollback', 'configmap/team', '-n', ns, '-f', blue, '--reason', 'back to blue', '--local'],
      'alice',
    );
    const name = /localunlockrequest\/(\S+) created in namespace (\S+)/.exec(out);
    expect(name?.[2]).toBe(ns);
    expect(out).toContain(`LocalUnlockRequest ${name![1]} unlocks only that state`);
    await pluginOk(['unlock', 'approve', name![1]!, '-n', ns], 'bob');
    const done = await kubectl(['replace', '-f', blue], { user: 'alice' });
    expect(done.code, done.stderr).toBe(0);
    expect(await color('team')).toBe('blue');
    const after = await sealed(uid, (s) => s.spec.current.reason === 'rollback');
    expect(after.spec.current.hash).toBe(blueHash);
  });

  it('the same change to a state never sealed needs the full count', async () => {
    await changedOnce('other');
    const green = await saved('other', 'green', (o) => {
      o.data.color = 'green';
    });
    // The plugin refuses before anyone is asked to approve.
    const refused = await plugin(['rollback', 'configmap/other', '-n', ns, '-f', green, '--reason', 'x'], 'alice');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('which is not a state Bulwark sealed for ConfigMap');
    // A rollback request naming that state, made by hand with one approval: the webhook refuses it.
    const greenHash = (
      await plugin(['rollback', 'configmap/other', '-n', ns, '-f', green, '--reason', 'x'], 'alice')
    ).stderr.match(/hashes to (sha256:[0-9a-f]{64})/)![1]!;
    const forged = await approvedUnlock(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'other' },
      ['UPDATE'],
      {
        approvers: ['bob'],
        rollback: greenHash,
      },
    );
    const viaRollback = await kubectl(['replace', '-f', green], { user: 'alice' });
    expect(viaRollback.code).not.toBe(0);
    expect(viaRollback.stderr).toContain(
      `UnlockRequest ${forged}: it is a rollback to ${greenHash}, which is not a state Bulwark sealed for it`,
    );
    // An ordinary request with one approval: 1 of 2.
    const ordinary = await approvedUnlock(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'other' },
      ['UPDATE'],
      {
        approvers: ['bob'],
      },
    );
    const viaChange = await kubectl(['replace', '-f', green], { user: 'alice' });
    expect(viaChange.code).not.toBe(0);
    expect(viaChange.stderr).toContain(`UnlockRequest ${ordinary}: it has 1 of the 2 approvals it needs`);
    expect(await color('other')).toBe('red');
  });
});
