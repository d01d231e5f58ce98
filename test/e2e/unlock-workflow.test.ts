// Break-glass as a workflow (issue 17), against the real apiserver with the real users:
// a rejection that no number of approvals overrides; requester binding (dave refused while
// alice's change goes through).

import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, LOCK_LABEL, newNamespace, type UserName } from './cluster/context.ts';
import { kubectlOk } from './cluster/kubectl.ts';
import { plugin, pluginOk, until } from './helpers/plugin.ts';

let ns: string;

const setColor = (name: string, color: string, user: UserName) =>
  kubectl(['patch', 'cm', name, '-n', ns, '-p', JSON.stringify({ data: { color } })], { user });
const colorOf = (name: string) => kubectlOk(kubectl, ['get', 'cm', name, '-n', ns, '-o', 'jsonpath={.data.color}']);

async function lockedConfigMap(name: string, labels: Record<string, string> = {}): Promise<void> {
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: ns, labels: { ...labels, [LOCK_LABEL.key]: LOCK_LABEL.value } },
      data: { color: 'blue' },
    }),
  });
}

async function request(name: string, user: UserName, extra: string[] = []): Promise<string> {
  const out = await pluginOk(
    ['unlock', 'request', `configmap/${name}`, '-n', ns, '--reason', 'e2e', '--duration', '30m', ...extra],
    user,
  );
  return /unlockrequest\/(\S+) created/.exec(out)![1]!;
}

beforeAll(async () => {
  ns = await newNamespace('workflow');
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: stringify({
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'ImmutabilityPolicy',
      metadata: { name: `workflow-${ns}` },
      spec: {
        match: { namespaces: [ns] },
        unlock: { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h' },
      },
    }),
  });
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: stringify({
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'ImmutabilityPolicy',
      metadata: { name: `workflow-bound-${ns}` },
      spec: {
        match: { namespaces: [ns], objectSelector: { matchLabels: { binding: 'requester' } } },
        unlock: { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h', requesterOnly: true },
      },
    }),
  });
  await lockedConfigMap('rejected');
  await lockedConfigMap('bound', { binding: 'requester' });
  await until(async () => (await setColor('rejected', 'probe', 'dave')).stderr.includes('is immutable'));
});

describe('rejection', () => {
  it('a request alice rejected stays closed after bob and carol approve it', async () => {
    const name = await request('rejected', 'dave', ['--ticket', 'INC-4711']);
    expect(await pluginOk(['unlock', 'reject', name, '--comment', 'not during the freeze'], 'alice')).toContain(
      `unlockrequest/${name} rejected by alice`,
    );
    await pluginOk(['unlock', 'approve', name], 'bob');
    await pluginOk(['unlock', 'approve', name], 'carol');
    await until(async () =>
      (await setColor('rejected', 'red', 'dave')).stderr.includes(`UnlockRequest ${name}: it was rejected by alice`),
    );
    expect(await colorOf('rejected')).toBe('blue');
  });

  it('a rejection is append-only and only in the rejecter`s own name', async () => {
    const name = await request('rejected', 'dave');
    await pluginOk(['unlock', 'reject', name], 'bob');
    const removal = await kubectl(
      ['patch', 'unlockrequest', name, '--type=json', '-p', '[{"op":"remove","path":"/spec/rejections/0"}]'],
      { user: 'carol' },
    );
    expect(removal.stderr).toContain('rejections are append-only');
    const forged = await kubectl(
      [
        'patch',
        'unlockrequest',
        name,
        '--type=json',
        '-p',
        '[{"op":"add","path":"/spec/rejections/-","value":{"user":"carol","groups":["dev","approvers"]}}]',
      ],
      { user: 'dave' },
    );
    expect(forged.stderr).toContain('a rejection must name the user who makes it: you are dave');
    const outsider = await plugin(['unlock', 'reject', name], 'erin');
    expect(outsider.stderr).toContain('erin is not in an approver group');
  });
});

describe('requester binding (unlock.requesterOnly)', () => {
  it("dave is refused while alice's change goes through", async () => {
    const name = await request('bound', 'alice');
    await pluginOk(['unlock', 'approve', name], 'bob');
    await pluginOk(['unlock', 'approve', name], 'carol');
    await until(async () =>
      (await setColor('bound', 'red', 'dave')).stderr.includes(
        `UnlockRequest ${name}: only its requester alice may use it (ImmutabilityPolicy workflow-bound-${ns} sets ` +
          'unlock.requesterOnly), not dave',
      ),
    );
    expect(await colorOf('bound')).toBe('blue');
    const alice = await setColor('bound', 'green', 'alice');
    expect(alice.code, alice.stderr).toBe(0);
    expect(await colorOf('bound')).toBe('green');
  });
});
