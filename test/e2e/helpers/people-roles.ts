// The chart's ClusterRoles for people (bulwark-requester, -approver, -policy-admin), applied
// as the chart renders them, and approvals written by impersonated people: the e2e users are
// all in group dev, which may do anything here, so RBAC is tested with impersonated ones.

import { parseAllDocuments, stringify } from 'yaml';
import { kubectl } from '../../../harness/context.ts';
import { renderChart } from '../../../harness/helm-template.ts';
import { kubectlOk } from '../../../harness/kubectl.ts';

interface RenderedRole {
  metadata: { name: string; labels?: Record<string, string> };
  aggregationRule?: { clusterRoleSelectors: { matchLabels: Record<string, string> }[] };
  rules?: unknown[];
}

/** Applies the roles; returns the aggregated ones with their rules. */
export async function applyPeopleRoles(): Promise<RenderedRole[]> {
  const stdout = await renderChart({ showOnly: ['templates/user-roles.yaml'] });
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
  return objects.filter((o) => o.aggregationRule);
}

/** A JSON Patch that sets the approvals to one by `user` (impersonated with `as`), with their groups. */
export async function approvalPatch(as: string[], user: string): Promise<string> {
  const me = JSON.parse(await kubectlOk(kubectl, ['auth', 'whoami', '-o', 'json', ...as])) as {
    status: { userInfo: { groups?: string[] } };
  };
  return JSON.stringify([{ op: 'add', path: '/spec/approvals', value: [{ user, groups: me.status.userInfo.groups }] }]);
}
