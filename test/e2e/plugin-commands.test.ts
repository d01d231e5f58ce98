// The kubectl plugin's commands in-process against the real apiserver and Bulwark (the
// process-level runs are in unlock.test.ts): request, approve, status and why, as each
// user would run them, with what they print.

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { requestUnlock, status } from '../../src/cli/plugin/commands.ts';
import { signOffUnlock } from '../../src/cli/plugin/sign-off.ts';
import { describeWhy, why } from '../../src/cli/plugin/why.ts';
import { openSession, type Session } from '../../src/cli/plugin/session.ts';
import { e2eCluster, kubectl, LOCK_LABEL, newNamespace, type UserName } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { until } from './helpers/plugin.ts';

let ns: string;
const sessions = {} as Record<UserName, Session>;
const printed: string[] = [];
const print = (line: string) => printed.push(line);
const configMap = (name: string, color: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
  data: { color },
});

async function manifest(object: unknown): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'bulwark-why-')), 'manifest.yaml');
  await writeFile(file, stringify(object));
  return file;
}

beforeAll(async () => {
  ns = await newNamespace('cmds');
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: stringify({
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'ImmutabilityPolicy',
      metadata: { name: `cmds-${ns}` },
      spec: {
        match: { namespaces: [ns] },
        unlock: { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h' },
      },
    }),
  });
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: [configMap('cfg', 'blue'), configMap('other', 'blue')].map((o) => stringify(o)).join('---\n'),
  });
  for (const user of ['alice', 'bob', 'carol'] as const)
    sessions[user] = openSession({ kubeconfig: e2eCluster().kubeconfig, context: user, namespace: ns });
});

describe('kubectl bulwark, in-process', () => {
  let name: string;

  it('unlock request creates an UnlockRequest in the name of whoever runs it', async () => {
    name = await requestUnlock(
      sessions.alice,
      'cm/cfg',
      { operations: ['update'], reason: 'rotate the colour', duration: '30m' },
      print,
    );
    expect(printed.pop()).toBe(
      `unlockrequest/${name} created for ConfigMap ${ns}/cfg (UPDATE, 30m); ask approvers to run: kubectl ` +
        `bulwark unlock approve ${name}`,
    );
    const stored = JSON.parse(await kubectlOk(kubectl, ['get', 'unlockrequest', name, '-o', 'json'])) as {
      spec: Record<string, unknown>;
    };
    expect(stored.spec).toMatchObject({
      requester: 'alice',
      operations: ['UPDATE'],
      target: { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cfg' },
    });
  });

  it('unlock approve records the approver with the groups the API server reports', async () => {
    await signOffUnlock(sessions.bob, name, 'approval', 'looks right', print);
    await signOffUnlock(sessions.carol, name, 'approval', undefined, print);
    expect(printed.splice(0)).toEqual([
      `unlockrequest/${name} approved by bob`,
      `unlockrequest/${name} approved by carol`,
    ]);
    const stored = JSON.parse(await kubectlOk(kubectl, ['get', 'unlockrequest', name, '-o', 'json'])) as {
      spec: { approvals: { user: string; groups: string[]; comment?: string }[] };
    };
    expect(stored.spec.approvals).toMatchObject([
      { user: 'bob', groups: expect.arrayContaining(['approvers']), comment: 'looks right' },
      { user: 'carol' },
    ]);
    await expect(signOffUnlock(sessions.alice, name, 'approval', undefined, print)).rejects.toThrow(
      /alice requested this unlock and cannot approve it/,
    );
  });

  it('status lists what is locked and the unlock: its phase, "approvals 2 of 2" and what it allows', async () => {
    // Bulwark's status loop writes the phase within seconds of the second approval.
    let lines: string[] = [];
    await until(async () => {
      await status(sessions.alice, false, print, LOCK_LABEL);
      lines = printed.splice(0);
      // Written by the status loop: the phase, and what it allows.
      return lines.some((l) => l.includes(`${name}:`) && l.includes('; approved,') && l.includes('; allows '));
    }, 60_000);
    // Each with who locked it, once the audit has sealed it.
    const lockedLine = (n: string) => expect.stringMatching(new RegExp(`^  ConfigMap ${ns}/${n}(, locked by .*)?$`));
    expect(lines).toEqual(expect.arrayContaining([lockedLine('cfg'), lockedLine('other')]));
    expect(lines.find((l) => l.includes(name))).toMatch(
      new RegExp(
        `${name}: ConfigMap ${ns}/cfg \\[UPDATE\\] by alice; approved, approvals 2 of 2, expires \\S+; ` +
          `allows UPDATE of ConfigMap ${ns}/cfg for 30m from creation .*, by anyone \\(approved by bob, carol\\)`,
      ),
    );
  });

  it('why answers for each object of a manifest, changing nothing; an allow by an unlock names it', async () => {
    const cfgGreen = await manifest(configMap('cfg', 'green'));
    await until(async () => (await why(sessions.alice, cfgGreen))[0]?.outcome === 'allowed-by-unlock');
    const [other] = await why(sessions.alice, await manifest(configMap('other', 'green')));
    expect(other).toMatchObject({ outcome: 'denied' });
    expect(describeWhy(other!)[0]).toMatch(
      new RegExp(`^ConfigMap ${ns}/other: this change would be denied: .*data\\.color \\(changed\\)`),
    );
    const [cfg] = await why(sessions.alice, cfgGreen);
    expect(cfg).toMatchObject({ outcome: 'allowed-by-unlock', unlockRequest: name });
    expect(describeWhy(cfg!)[0]).toBe(
      `ConfigMap ${ns}/cfg: this change would be allowed only because UnlockRequest ${name} is active ` +
        '(the object is locked; without the unlock it would be denied)',
    );
    const [same] = await why(sessions.alice, await manifest(configMap('other', 'blue')));
    expect(describeWhy(same!)).toEqual([`ConfigMap ${ns}/other: this change would be allowed`]);
    expect(await kubectlOk(kubectl, ['get', 'cm', 'cfg', '-n', ns, '-o', 'jsonpath={.data.color}'])).toBe('blue');
  });

  it('unlock request --patch binds the request to one change, read from a file', async () => {
    const patch = join(await mkdtemp(join(tmpdir(), 'bulwark-patch-')), 'patch.json');
    await writeFile(patch, JSON.stringify([{ op: 'replace', path: '/data/color', value: 'red' }]));
    const bound = await requestUnlock(
      sessions.alice,
      'cm/other',
      { operations: ['UPDATE'], reason: 'exactly this', duration: '10m', patch: `@${patch}` },
      print,
    );
    expect(
      await kubectlOk(kubectl, ['get', 'unlockrequest', bound, '-o', 'jsonpath={.spec.change.patch[0].value}']),
    ).toBe('red');
    await expect(
      requestUnlock(
        sessions.alice,
        'cm/other',
        { operations: ['UPDATE'], reason: 'r', duration: '10m', patch: '{not json' },
        print,
      ),
    ).rejects.toThrow(/--patch is not JSON/);
    await expect(
      requestUnlock(sessions.alice, 'nokind/x', { operations: ['UPDATE'], reason: 'r', duration: '10m' }, print),
    ).rejects.toThrow('the server has no resource type "nokind"');
  });
});
