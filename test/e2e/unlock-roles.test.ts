// The chart's ClusterRoles for people (issue 17), applied to the real apiserver as the chart
// renders them: a team's requester (bulwark-requester) can ask but cannot approve, because
// RBAC refuses the update; an approver (bulwark-approver) can approve but not create. People
// outside group dev (who may do anything in this cluster) are impersonated by admin.

import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { until } from './helpers/plugin.ts';
import { applyPeopleRoles, approvalPatch } from './helpers/people-roles.ts';

const TINA = ['--as=tina', '--as-group=team-a']; // a team member: bulwark-requester
const ULF = ['--as=ulf', '--as-group=team-a-approvers', '--as-group=approvers']; // bulwark-approver
let ns: string;

const binding = (role: string, group: string) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name: `${role}-${group}` },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
});

beforeAll(async () => {
  await applyPeopleRoles();
  const bindings = [binding('bulwark-requester', 'team-a'), binding('bulwark-approver', 'team-a-approvers')];
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: bindings.map((b) => stringify(b)).join('---\n') });
  ns = await newNamespace('roles');
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: [
      stringify({
        apiVersion: 'bulwark.dev/v1alpha1',
        kind: 'ImmutabilityPolicy',
        metadata: { name: `roles-${ns}` },
        spec: { match: { namespaces: [ns] }, unlock: { approvalsRequired: 1, approverGroups: ['approvers'] } },
      }),
      stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'cfg', namespace: ns, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
        data: { color: 'blue' },
      }),
    ].join('---\n'),
  });
});

const unlockRequest = (name: string, requester: string) =>
  stringify({
    apiVersion: 'bulwark.dev/v1alpha1',
    kind: 'UnlockRequest',
    metadata: { name },
    spec: {
      target: { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cfg' },
      operations: ['UPDATE'],
      reason: 'team change',
      duration: '30m',
      requester,
    },
  });

describe("a team's requester role cannot approve", () => {
  const name = `roles-${Date.now().toString(36)}`;

  it('tina (bulwark-requester) creates a request in her own name', async () => {
    await until(
      async () => (await kubectl(['create', '-f', '-', ...TINA], { input: unlockRequest(name, 'tina') })).code === 0,
      20_000,
    );
  });

  it('tina cannot approve it: RBAC refuses the update before Bulwark is asked', async () => {
    const r = await kubectl([
      'patch',
      'unlockrequest',
      name,
      '--type=json',
      '-p',
      await approvalPatch(TINA, 'tina'),
      ...TINA,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/User "tina" cannot patch resource "unlockrequests"/);
  });

  it('ulf (bulwark-approver) approves it, but cannot create requests or write their status', async () => {
    await kubectlOk(kubectl, [
      'patch',
      'unlockrequest',
      name,
      '--type=json',
      '-p',
      await approvalPatch(ULF, 'ulf'),
      ...ULF,
    ]);
    const create = await kubectl(['create', '-f', '-', ...ULF], { input: unlockRequest(`${name}-u`, 'ulf') });
    expect(create.stderr).toMatch(/User "ulf" cannot create resource "unlockrequests"/);
    const status = await kubectl([
      'patch',
      'unlockrequest',
      name,
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"phase":"Approved"}}',
      ...ULF,
    ]);
    expect(status.stderr).toMatch(/User "ulf" cannot (get|patch) resource "unlockrequests\/status"/);
  });
});
