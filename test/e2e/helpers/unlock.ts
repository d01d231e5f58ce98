// Break-glass for e2e tests that need to change a locked object legitimately: an
// UnlockRequest created by one user and approved by two others through kubectl, as the
// plugin does it. The governing ImmutabilityPolicy must name `approvers` (alice, bob and
// carol are in that group, see cluster/users.ts).

import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { kubectl, LOCK_LABEL, type UserName } from '../../../harness/context.ts';
import { kubectlOk } from '../../../harness/kubectl.ts';

export interface UnlockTarget {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** An ImmutabilityPolicy whose unlocks the `approvers` group may approve, for what `match` selects. */
export function approvablePolicy(name: string, match: Record<string, unknown>): string {
  return stringify({
    apiVersion: 'bulwark.dev/v1alpha1',
    kind: 'ImmutabilityPolicy',
    metadata: { name },
    spec: { match, unlock: { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h' } },
  });
}

/** Creates an UnlockRequest as `requester` and has each approver append an approval; returns its name. */
export async function approvedUnlock(
  target: UnlockTarget,
  operations: ('UPDATE' | 'DELETE' | 'Unlabel')[],
  options: { requester?: UserName; approvers?: UserName[]; reason?: string; rollback?: string; patch?: unknown[] } = {},
): Promise<string> {
  const requester = options.requester ?? 'alice';
  const name = `unlock-${target.name.slice(0, 30).replace(/[^a-z0-9-]/g, '-')}-${randomBytes(3).toString('hex')}`;
  await kubectlOk(kubectl, ['create', '-f', '-'], {
    user: requester,
    input: stringify({
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'UnlockRequest',
      metadata: { name },
      spec: {
        target,
        operations,
        reason: options.reason ?? 'e2e test',
        duration: '30m',
        requester,
        ...(options.rollback ? { rollback: { hash: options.rollback } } : {}),
        ...(options.patch ? { change: { patch: options.patch } } : {}),
      },
    }),
  });
  for (const approver of options.approvers ?? ['bob', 'carol']) {
    // An approval records the approver's groups as the API server reports them (Bulwark checks).
    const me = JSON.parse(await kubectlOk(kubectl, ['auth', 'whoami', '-o', 'json'], { user: approver })) as {
      status: { userInfo: { groups?: string[] } };
    };
    const approval = { user: approver, groups: me.status.userInfo.groups ?? [] };
    const current = JSON.parse(await kubectlOk(kubectl, ['get', 'unlockrequest', name, '-o', 'json'])) as {
      spec: { approvals?: { user: string }[] };
    };
    const op = current.spec.approvals
      ? { op: 'add', path: '/spec/approvals/-', value: approval }
      : { op: 'add', path: '/spec/approvals', value: [approval] };
    await kubectlOk(kubectl, ['patch', 'unlockrequest', name, '--type=json', '-p', JSON.stringify([op])], {
      user: approver,
    });
  }
  return name;
}

/** Creates a ConfigMap labelled locked, with data.color blue; returns its uid. */
export async function createLockedConfigMap(namespace: string, name: string): Promise<string> {
  const created = await kubectlOk(kubectl, ['create', '-o', 'jsonpath={.metadata.uid}', '-f', '-'], {
    input: stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
      data: { color: 'blue' },
    }),
  });
  return created.trim();
}
