// Policy sets for the "cost does not grow with the number of policies" comparison:
// N per-team ImmutabilityPolicies over a mix of kinds, written as YAML files for
// `bulwark serve --policies DIR`.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { benchTempDir } from './temp.ts';

const KINDS = [
  { apiGroups: [''], kinds: ['ConfigMap', 'Secret'] },
  { apiGroups: ['apps'], kinds: ['Deployment', 'StatefulSet'] },
  { apiGroups: ['rbac.authorization.k8s.io'], kinds: ['Role', 'RoleBinding'] },
];

export function policySet(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: 'bulwark.dev/v1alpha1',
    kind: 'ImmutabilityPolicy',
    metadata: { name: `team-${i}` },
    spec: {
      // The bench reviews are in namespace "demo": team-0 is the one that matches.
      match: { resources: [KINDS[i % KINDS.length]], namespaces: [i === 0 ? 'demo' : `team-${i}`] },
      allowedChanges: ['/metadata/annotations/owner'],
      message: `Ask team ${i}.`,
    },
  }));
}

export async function writePolicyDir(count: number): Promise<string> {
  const dir = benchTempDir(`bulwark-bench-policies-${count}-`);
  await writeFile(
    join(dir, 'policies.yaml'),
    policySet(count)
      .map((p) => stringify(p))
      .join('---\n'),
  );
  return dir;
}
