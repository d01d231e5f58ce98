// The chart's ClusterRoles for people (issue 17), applied to the real apiserver as the chart
// renders them: a team's requester (bulwark-requester) can ask but cannot approve, because
// RBAC refuses the update; an approver (bulwark-approver) can approve but not create. People
// outside group dev (who may do anything in this cluster) are impersonated by admin.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { REPO_ROOT } from '../../harness/paths.ts';
import { locateTools } from '../../harness/tools.ts';
import { until } from './helpers/plugin.ts';

interface RenderedRole {
  metadata: { name: string; labels?: Record<string, string> };
  aggregationRule?: { clusterRoleSelectors: { matchLabels: Record<string, string> }[] };
  rules?: unknown[];
}

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
  const { helm } = await locateTools(['helm']);
  const { stdout } = await promisify(execFile)(
    helm,
    ['template', 'bulwark', 'charts/bulwark', '--show-only', 'templates/user-roles.yaml'],
    { cwd: REPO_ROOT },
  );
  // The e2e tier has no kube-controller-manager, whose aggregation controller fills an
  // aggregated ClusterRole's rules from the pieces its selector picks: do exactly that here.
  const objects = parseAllDocuments(stdout)
    .map((d) => d.toJS() as RenderedRole)
    .filter(Boolean);
  for (const role of objects.filter((o) => o.aggregationRule)) {
    const selector = role.aggregationRule!.clusterRoleSelectors[0]!.matchLabels;
    const pieces = objects.filter((o) => Object.entries(selector).every(([k, v]) => o.metadata.labels?.[k] === v));
    role.rules = pieces.flatMap((p) => p.rules ?? []);
  }
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: objects.map((o) => stringify(o)).join('---\n') });
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

async function approval(as: string[], user: string): Promise<string> {
  const me = JSON.parse(await kubectlOk(kubectl, ['auth', 'whoami', '-o', 'json', ...as])) as {
    status: { userInfo: { groups?: string[] } };
  };
  return JSON.stringify([{ op: 'add', path: '/spec/approvals', value: [{ user, groups: me.status.userInfo.groups }] }]);
}

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
      await approval(TINA, 'tina'),
      ...TINA,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/User "tina" cannot patch resource "unlockrequests"/);
  });

  it('ulf (bulwark-approver) approves it, but cannot create requests or write their status', async () => {
    await kubectlOk(kubectl, ['patch', 'unlockrequest', name, '--type=json', '-p', await approval(ULF, 'ulf'), ...ULF]);
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
