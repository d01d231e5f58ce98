// What the non-admin users may do: everything an application team would, on every
// resource in every group, but not impersonate, escalate or bind (which would make
// them admins in all but name and hide RBAC mistakes in tests). Granted to group dev,
// so alice, bob, carol and dave all have it; admin is system:masters.

import { stringify } from 'yaml';
import { kubectlOk, type Kubectl } from './kubectl.ts';

export const USER_ROLE = 'bulwark-e2e-user';

export const USER_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];

export async function grantUserRole(kubectl: Kubectl): Promise<void> {
  const objects = [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: USER_ROLE },
      rules: [{ apiGroups: ['*'], resources: ['*'], verbs: USER_VERBS }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: USER_ROLE },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: USER_ROLE },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'dev' }],
    },
  ];
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: objects.map((o) => stringify(o)).join('---\n') });
}
