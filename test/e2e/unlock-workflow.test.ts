// Break-glass as a workflow (issue 17), against the real apiserver with the real users:
// the phases in status as they change (and in `kubectl get`, `kubectl bulwark status`,
// Events); a rejection that no number of approvals overrides; requester binding (dave
// refused while alice's change goes through); an emergency unlock and its review.

import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, LOCK_LABEL, newNamespace, type UserName } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { REPO_ROOT } from '../../harness/paths.ts';
import { plugin, pluginOk, until } from './helpers/plugin.ts';
import { reportResults } from './helpers/audit.ts';

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
  await lockedConfigMap('phases');
  await lockedConfigMap('bound-change');
  await lockedConfigMap('bound', { binding: 'requester' });

  await until(async () => (await setColor('rejected', 'probe', 'dave')).stderr.includes('is locked'));
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

const phaseOf = async (name: string) =>
  kubectlOk(kubectl, ['get', 'unlockrequest', name, '-o', 'jsonpath={.status.phase} {.status.approvals}']);
/** Waits for Bulwark's status loop (every 5 s) to report `expected` ("Pending 1/2"). */
const phaseBecomes = (name: string, expected: string) => until(async () => (await phaseOf(name)) === expected, 30_000);
const eventReasons = async (field: string) =>
  kubectlOk(kubectl, ['get', 'events', '-n', ns, '--field-selector', field, '-o', 'jsonpath={.items[*].reason}']);

describe('phases in status, as they change', () => {
  it('Pending 0/2, Pending 1/2, Approved 2/2, then Active once the change is made; Events on both', async () => {
    const name = await request('phases', 'alice', ['--ticket', 'CHG-1']);
    await phaseBecomes(name, 'Pending 0/2');
    await pluginOk(['unlock', 'approve', name], 'bob');
    await phaseBecomes(name, 'Pending 1/2');
    const table = await kubectlOk(kubectl, ['get', 'unlockrequest', name]);
    expect(table).toMatch(/PHASE\s+APPROVALS\s+EXPIRES/);
    expect(table).toMatch(/Pending\s+1\/2\s+\d{4}-/);
    const listed = await pluginOk(['status', '-n', ns], 'alice');
    expect(listed).toMatch(
      new RegExp(`${name}: ConfigMap ${ns}/phases \\[UPDATE\\] by alice \\[ticket CHG-1\\]; pending, approvals 1 of 2`),
    );
    expect(listed).toContain(`allows UPDATE of ConfigMap ${ns}/phases for 30m from creation`);
    await pluginOk(['unlock', 'approve', name], 'carol');
    await phaseBecomes(name, 'Approved 2/2');
    expect((await setColor('phases', 'green', 'alice')).code).toBe(0);
    await phaseBecomes(name, 'Active 2/2');
    const onTarget = await eventReasons('involvedObject.name=phases');
    for (const reason of ['UnlockPending', 'UnlockApproved', 'UnlockActive']) expect(onTarget).toContain(reason);
    const onRequest = await kubectlOk(kubectl, [
      'get',
      'events',
      '-n',
      'default',
      '--field-selector',
      `involvedObject.name=${name}`,
      '-o',
      'jsonpath={.items[*].message}',
    ]);
    expect(onRequest).toContain(`UnlockRequest ${name} by alice is Approved`);
    expect(onRequest).toContain('[ticket CHG-1]');
  }, 180_000);

  it('an unlock bound to a patch is Used once its change is made', async () => {
    const patch = JSON.stringify([{ op: 'replace', path: '/data/color', value: 'violet' }]);
    const name = await request('bound-change', 'alice', ['--patch', patch]);
    await pluginOk(['unlock', 'approve', name], 'bob');
    await pluginOk(['unlock', 'approve', name], 'carol');
    await phaseBecomes(name, 'Approved 2/2');
    expect((await setColor('bound-change', 'violet', 'alice')).code).toBe(0);
    await phaseBecomes(name, 'Used 2/2');
  });

  it('a rejected request is Rejected; one past its duration is Expired (wide margin: 20 s, 45 s wait)', async () => {
    const rejected = await request('phases', 'dave');
    await pluginOk(['unlock', 'reject', rejected], 'bob');
    await phaseBecomes(rejected, 'Rejected 0/2');
    const short = await pluginOk(
      ['unlock', 'request', 'configmap/phases', '-n', ns, '--reason', 'e2e', '--duration', '20s'],
      'dave',
    );
    const name = /unlockrequest\/(\S+) created/.exec(short)![1]!;
    await phaseBecomes(name, 'Pending 0/2');
    await until(async () => (await phaseOf(name)) === 'Expired 0/2', 45_000);
  }, 180_000);
});

/**
 * A new namespace governed by one policy: two approvers, or one self-approved emergency
 * unlock of at most 15 minutes with `review` settings. Every policy governing a target must
 * allow an emergency unlock, so each emergency scenario gets its own namespace.
 */
async function emergencyNamespace(prefix: string, review: Record<string, unknown>): Promise<string> {
  const namespace = await newNamespace(prefix);
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: stringify({
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'ImmutabilityPolicy',
      metadata: { name: `workflow-${prefix}-${namespace}` },
      spec: {
        match: { namespaces: [namespace] },
        unlock: {
          approvalsRequired: 2,
          approverGroups: ['approvers'],
          maxDuration: '1h',
          emergency: { approvalsRequired: 1, selfApproval: true, maxDuration: '15m', ...review },
        },
      },
    }),
  });
  return namespace;
}

describe('the emergency path', () => {
  beforeAll(async () => {
    ns = await emergencyNamespace('emergency', { reviewsRequired: 2 });
    await lockedConfigMap('incident');
    await until(async () => (await setColor('incident', 'probe', 'dave')).stderr.includes('is locked'));
    await until(async () => {
      const r = await plugin(
        ['unlock', 'request', 'configmap/incident', '-n', ns, '--reason', 'x', '--duration', '1h', '--emergency'],
        'alice',
      );
      return r.stderr.includes(
        `15m, the longest unlock ImmutabilityPolicy workflow-emergency-${ns} (emergency) allows`,
      );
    });
  });

  it('alice self-approves an emergency unlock at 3 a.m.; the change is loud; bob and carol review it', async () => {
    const name = await request('incident', 'alice', ['--emergency', '--duration', '10m', '--ticket', 'INC-9']);
    await phaseBecomes(name, 'Pending 0/1');
    await pluginOk(['unlock', 'approve', name], 'alice');
    const changed = await setColor('incident', 'red', 'alice');
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stderr).toContain(`EMERGENCY unlock: UnlockRequest ${name} (requested by alice)`);
    await until(async () => (await phaseOf(name)) === 'Active 1/1', 30_000);
    const reviews = () => kubectlOk(kubectl, ['get', 'unlockrequest', name, '-o', 'jsonpath={.status.reviews}']);
    expect(await reviews()).toBe('0/2');
    expect(await eventReasons('involvedObject.name=incident')).toContain('UnlockEmergencyActive');
    const self = await plugin(['unlock', 'review', name], 'alice');
    expect(self.stderr).toContain('alice requested this emergency unlock and cannot review it');
    await pluginOk(['unlock', 'review', name, '--comment', 'the outage fix, fine'], 'bob');
    await pluginOk(['unlock', 'review', name], 'carol');
    await until(async () => (await reviews()) === '2/2', 30_000);
    expect(await pluginOk(['status', '-n', ns], 'dave')).toMatch(
      new RegExp(
        `${name}: .* \\[ticket INC-9\\]; active, approvals 1 of 1, .*EMERGENCY: .*; emergency, reviews 2 of 2`,
      ),
    );
  }, 180_000);
});

describe('an emergency unlock left unreviewed', () => {
  // reviewWithin 5s: past it, the violation shows in status, the PolicyReport and kubectl bulwark status.
  beforeAll(async () => {
    await kubectlOk(kubectl, ['apply', '-f', join(REPO_ROOT, 'charts', 'bulwark', 'files', 'policyreport-crds')]);
    ns = await emergencyNamespace('unreviewed', { reviewWithin: '5s' });
    await lockedConfigMap('outage');
    await until(async () => (await setColor('outage', 'probe', 'dave')).stderr.includes('is locked'));
  });

  it('is a violation in its status, in the bulwark-drift PolicyReport and in kubectl bulwark status', async () => {
    let name = '';
    // The policy may not be compiled yet when the first request comes: retry until it is judged under it.
    await until(async () => {
      const r = await plugin(
        ['unlock', 'request', 'configmap/outage', '-n', ns, '--reason', 'x', '--duration', '10m', '--emergency'],
        'alice',
      );
      name = /unlockrequest\/(\S+) created/.exec(r.stdout)?.[1] ?? '';
      return name !== '';
    });
    await until(async () => (await plugin(['unlock', 'approve', name], 'alice')).code === 0);
    const violation = () => kubectlOk(kubectl, ['get', 'unlockrequest', name, '-o', 'jsonpath={.status.violation}']);
    await until(async () => (await violation()).startsWith('emergency unlock not reviewed by'), 45_000);
    const results = () => reportResults(ns);
    await until(async () => (await results()).some((r) => r.rule === 'emergency-unreviewed'), 45_000);
    expect((await results()).find((r) => r.rule === 'emergency-unreviewed')).toMatchObject({
      policy: 'bulwark-unlocks',
      message: expect.stringContaining(`UnlockRequest ${name}: emergency unlock not reviewed by`),
    });
    const status = await pluginOk(['status', '-n', ns], 'dave');
    expect(status).toMatch(new RegExp(`${name}: .*; VIOLATION: emergency unlock not reviewed by`));
    expect(status).toContain(`emergency-unreviewed: UnlockRequest ${name}: emergency unlock not reviewed by`);
  }, 240_000);
});
