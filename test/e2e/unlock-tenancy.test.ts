// Tenancy (issue 17): LocalUnlockRequests live in their target's namespace. Against the real
// apiserver: alice asks with `kubectl bulwark unlock request --local`, bob and carol approve
// with `-n`, and alice's change to the locked ConfigMap goes through, with status, phases and
// Events as for an UnlockRequest. Attacks: a LocalUnlockRequest naming another namespace's
// object or a cluster-scoped one is refused; approvals cannot be carried from one kind to the
// other; the chart's self-protection covers the new CRD. RBAC, with the chart's roles bound by
// RoleBinding in one team's namespace: the team asks, sees and approves its own requests and
// none of another team's. People outside group dev (who may do anything here) are
// impersonated by admin, as in unlock-roles.test.ts.

import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, LOCK_LABEL, newNamespace, type UserName } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { plugin, pluginOk, until } from './helpers/plugin.ts';
import { applyPeopleRoles, approvalPatch } from './helpers/people-roles.ts';

let teamA: string;
let teamB: string;

// Groups of their own: unlock-roles.test.ts binds team-a cluster-wide in the same cluster.
const TINA = ['--as=tina', '--as-group=tenant-a']; // team A's requester (RoleBinding in teamA)
const ULF = ['--as=ulf', '--as-group=tenant-a-approvers', '--as-group=approvers']; // team A's approver
const VERA = ['--as=vera', '--as-group=tenant-b']; // team B's requester (RoleBinding in teamB)

const lockedConfigMap = (namespace: string, name: string) =>
  stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
    data: { color: 'blue' },
  });

const localRequest = (
  namespace: string,
  name: string,
  requester: string,
  target: Record<string, string> = { apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'cfg' },
  extra: Record<string, unknown> = {},
) =>
  stringify({
    apiVersion: 'bulwark.dev/v1alpha1',
    kind: 'LocalUnlockRequest',
    metadata: { name, namespace },
    spec: { target, operations: ['UPDATE'], reason: 'team change', duration: '30m', requester, ...extra },
  });

const roleBinding = (namespace: string, role: string, group: string) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: { name: `${role}-${group}`, namespace },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
});

const setColor = (namespace: string, color: string, user: UserName) =>
  kubectl(['patch', 'cm', 'cfg', '-n', namespace, '-p', JSON.stringify({ data: { color } })], { user });
const phaseOf = (namespace: string, name: string) =>
  kubectlOk(kubectl, [
    'get',
    'localunlockrequest',
    name,
    '-n',
    namespace,
    '-o',
    'jsonpath={.status.phase} {.status.approvals}',
  ]);

let aggregated: unknown[];

beforeAll(async () => {
  [teamA, teamB] = await Promise.all([newNamespace('team-a'), newNamespace('team-b')]);
  aggregated = (await applyPeopleRoles()).flatMap((r) => r.rules ?? []);
  const bindings = [
    roleBinding(teamA, 'bulwark-requester', 'tenant-a'),
    roleBinding(teamA, 'bulwark-approver', 'tenant-a-approvers'),
    roleBinding(teamB, 'bulwark-requester', 'tenant-b'),
  ];
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: [
      ...bindings.map((b) => stringify(b)),
      stringify({
        apiVersion: 'bulwark.dev/v1alpha1',
        kind: 'ImmutabilityPolicy',
        metadata: { name: `tenancy-${teamA}` },
        spec: {
          match: { namespaces: [teamA, teamB] },
          unlock: { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h' },
        },
      }),
      lockedConfigMap(teamA, 'cfg'),
      lockedConfigMap(teamB, 'cfg'),
    ].join('---\n'),
  });
  await until(async () => (await setColor(teamA, 'probe', 'dave')).stderr.includes('is locked'), 20_000);
});

describe('a LocalUnlockRequest, end to end with the real users', () => {
  it('alice asks in her namespace, bob and carol approve with -n, her change goes through', async () => {
    const out = await pluginOk(
      ['unlock', 'request', 'configmap/cfg', '-n', teamA, '--local', '--reason', 'e2e', '--ticket', 'T-1'],
      'alice',
    );
    const name = /localunlockrequest\/(\S+) created in namespace/.exec(out)![1]!;
    expect(out).toContain(`kubectl bulwark unlock approve ${name} -n ${teamA}`);
    await until(async () => (await phaseOf(teamA, name)) === 'Pending 0/2', 30_000);
    expect(await pluginOk(['unlock', 'approve', name, '-n', teamA], 'bob')).toContain(
      `localunlockrequest/${name} -n ${teamA} approved by bob`,
    );
    // A change before the second approval is refused, naming the request by kind and namespace.
    expect((await setColor(teamA, 'red', 'alice')).stderr).toContain(
      `LocalUnlockRequest ${teamA}/${name}: it has 1 of the 2 approvals it needs`,
    );
    await pluginOk(['unlock', 'approve', `localunlockrequest/${name}`, '-n', teamA], 'carol');
    await until(async () => (await phaseOf(teamA, name)) === 'Approved 2/2', 30_000);
    await until(async () => (await setColor(teamA, 'green', 'alice')).code === 0, 20_000);
    await until(async () => (await phaseOf(teamA, name)) === 'Active 2/2', 30_000);
    const reasons = await kubectlOk(kubectl, [
      'get',
      'events',
      '-n',
      teamA,
      '--field-selector',
      `involvedObject.kind=LocalUnlockRequest,involvedObject.name=${name}`,
      '-o',
      'jsonpath={.items[*].reason}',
    ]);
    expect(reasons.split(' ')).toEqual(expect.arrayContaining(['UnlockPending', 'UnlockApproved', 'UnlockActive']));
    const listed = await pluginOk(['status', '-n', teamA], 'dave');
    expect(listed).toMatch(new RegExp(`localunlockrequest/${name} -n ${teamA}: ConfigMap ${teamA}/cfg .*active`));
    const columns = await kubectlOk(kubectl, ['get', 'lur', '-n', teamA, name]);
    expect(columns).toMatch(/PHASE\s+APPROVALS/);
  });

  it('one in namespace A naming an object in namespace B is refused', async () => {
    const r = await kubectl(['create', '-f', '-'], {
      user: 'alice',
      input: localRequest(teamA, 'cross', 'alice', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: teamB,
        name: 'cfg',
      }),
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `a LocalUnlockRequest unlocks only objects in its own namespace ${teamA}, not in ${teamB}`,
    );
  });

  it('one naming a cluster-scoped object (its own Namespace, a policy) is refused; --local says so first', async () => {
    for (const target of [
      { apiVersion: 'v1', kind: 'Namespace', namespace: teamA, name: teamA },
      { apiVersion: 'bulwark.dev/v1alpha1', kind: 'ImmutabilityPolicy', namespace: teamA, name: `tenancy-${teamA}` },
    ]) {
      const r = await kubectl(['create', '-f', '-'], {
        user: 'alice',
        input: localRequest(teamA, 'up', 'alice', target),
      });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('is cluster-scoped: a LocalUnlockRequest unlocks only objects in its own namespace');
    }
    const cli = await plugin(['unlock', 'request', `namespace/${teamA}`, '--local', '--reason', 'e2e'], 'alice');
    expect(cli.stderr).toContain('is cluster-scoped: only an UnlockRequest (without --local) can unlock it');
  });

  it("approvals cannot be carried over: an UnlockRequest's attested approvals copied into another", async () => {
    const name = `carry-${Date.now().toString(36)}`;
    await kubectlOk(kubectl, ['create', '-f', '-'], {
      user: 'alice',
      input: stringify({
        apiVersion: 'bulwark.dev/v1alpha1',
        kind: 'UnlockRequest',
        metadata: { name },
        spec: {
          target: { apiVersion: 'v1', kind: 'ConfigMap', namespace: teamB, name: 'cfg' },
          operations: ['UPDATE'],
          reason: 'e2e',
          duration: '30m',
          requester: 'alice',
        },
      }),
    });
    await pluginOk(['unlock', 'approve', `unlockrequest/${name}`], 'bob');
    await pluginOk(['unlock', 'approve', `unlockrequest/${name}`], 'carol');
    const approvals = JSON.parse(
      await kubectlOk(kubectl, ['get', 'unlockrequest', name, '-o', 'jsonpath={.spec.approvals}']),
    ) as { attestation?: unknown }[];
    expect(approvals.every((a) => a.attestation)).toBe(true);
    // As a new LocalUnlockRequest's approvals: refused at creation.
    const copied = await kubectl(['create', '-f', '-'], {
      user: 'alice',
      input: localRequest(teamB, `${name}-l`, 'alice', undefined, { approvals }),
    });
    expect(copied.stderr).toContain('a new LocalUnlockRequest has no approvals');
    // Appended to an existing one by bob, in his name: its attestation was made for the other uid.
    await kubectlOk(kubectl, ['create', '-f', '-'], {
      user: 'alice',
      input: localRequest(teamB, `${name}-m`, 'alice'),
    });
    const bobs = approvals.find((a) => (a as { user?: string }).user === 'bob');
    const appended = await kubectl(
      [
        'patch',
        'lur',
        `${name}-m`,
        '-n',
        teamB,
        '--type=json',
        '-p',
        JSON.stringify([{ op: 'add', path: '/spec/approvals', value: [bobs] }]),
      ],
      { user: 'bob' },
    );
    // Bulwark's mutating webhook replaces the foreign attestation with its own for bob's own
    // approval: what is stored then counts as bob's approval of this request, and only that.
    if (appended.code === 0) {
      const stored = JSON.parse(
        await kubectlOk(kubectl, ['get', 'lur', `${name}-m`, '-n', teamB, '-o', 'jsonpath={.spec.approvals[0]}']),
      ) as { attestation?: unknown };
      expect(stored.attestation).not.toEqual((bobs as { attestation?: unknown }).attestation);
    } else expect(appended.stderr).toMatch(/attest/);
  });
});

describe('RBAC: a team manages its own requests and nothing else', () => {
  it('the ClusterRoles aggregate the new kind', () => {
    expect(JSON.stringify(aggregated)).toContain('localunlockrequests');
  });

  it("tina (team A) asks in A, cannot ask, see or list in B, nor see the cluster's UnlockRequests", async () => {
    await until(
      async () =>
        (await kubectl(['create', '-f', '-', ...TINA], { input: localRequest(teamA, 'tina-1', 'tina') })).code === 0,
      20_000,
    );
    const inB = await kubectl(['create', '-f', '-', ...TINA], { input: localRequest(teamB, 'tina-2', 'tina') });
    expect(inB.stderr).toMatch(/User "tina" cannot create resource "localunlockrequests" .* in the namespace/);
    await kubectlOk(kubectl, ['create', '-f', '-', ...VERA], { input: localRequest(teamB, 'vera-1', 'vera') });
    expect((await kubectl(['get', 'lur', '-n', teamB, ...TINA])).stderr).toMatch(/cannot list resource/);
    expect((await kubectl(['get', 'lur', 'vera-1', '-n', teamB, ...TINA])).stderr).toMatch(/cannot get resource/);
    expect((await kubectl(['get', 'lur', '-A', ...TINA])).stderr).toMatch(/cannot list resource/);
    expect((await kubectl(['get', 'unlockrequests', ...TINA])).stderr).toMatch(/cannot list resource/);
    expect(await kubectlOk(kubectl, ['get', 'lur', '-n', teamA, '-o', 'name', ...TINA])).toContain('tina-1');
    // And she cannot approve her own (no update), as with UnlockRequests.
    const self = await kubectl(['patch', 'lur', 'tina-1', '-n', teamA, '--type=json', '-p', '[]', ...TINA]);
    expect(self.stderr).toMatch(/cannot patch resource "localunlockrequests"/);
  });

  it("ulf (team A's approver) approves in A and cannot approve or even read team B's", async () => {
    await kubectlOk(kubectl, [
      'patch',
      'lur',
      'tina-1',
      '-n',
      teamA,
      '--type=json',
      '-p',
      await approvalPatch(ULF, 'ulf'),
      ...ULF,
    ]);
    const other = await kubectl([
      'patch',
      'lur',
      'vera-1',
      '-n',
      teamB,
      '--type=json',
      '-p',
      await approvalPatch(ULF, 'ulf'),
      ...ULF,
    ]);
    expect(other.stderr).toMatch(/User "ulf" cannot (get|patch) resource "localunlockrequests"/);
    const status = await kubectl([
      'patch',
      'lur',
      'tina-1',
      '-n',
      teamA,
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"phase":"Approved"}}',
      ...ULF,
    ]);
    expect(status.stderr).toMatch(/cannot (get|patch) resource "localunlockrequests\/status"/);
  });
});

describe("the chart's self-protection", () => {
  it('covers the LocalUnlockRequest CRD like the UnlockRequest CRD', async () => {
    for (const crd of ['unlockrequests.bulwark.dev', 'localunlockrequests.bulwark.dev']) {
      const r = await kubectl(['delete', 'crd', crd, '--dry-run=server'], { user: 'alice' });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('Bulwark self-protection: only the policy admins');
    }
  });
});
