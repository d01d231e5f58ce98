// Unreviewed emergency unlocks as findings of the audit's reports: an emergency UnlockRequest
// past its review deadline without its reviews carries status.violation, which the status loop
// (controller/unlock-status.ts, the one place that works it out) writes. Each such request is a
// `fail` result of policy `bulwark-unlocks`, rule `emergency-unreviewed`, in the PolicyReport
// `bulwark-drift` of its target's namespace (the ClusterPolicyReport for a cluster-scoped
// target), naming the request and its target, until the reviews arrive.

import type { KubeClient } from '../cluster/kube-client.ts';
import { BULWARK_KINDS, POLICY_API_VERSION } from '../policy/crds.ts';
import type { Finding } from './report.ts';

export const UNREVIEWED_RULE = 'emergency-unreviewed';
const UNLOCKS = `/apis/${POLICY_API_VERSION}/${BULWARK_KINDS.UnlockRequest.plural}`;

interface StoredUnlock {
  metadata?: { name?: string; uid?: string };
  spec?: { target?: { apiVersion?: string; kind?: string; namespace?: string; name?: string } };
  status?: { violation?: string };
}

export async function unreviewedEmergencies(client: KubeClient, timeoutMs: number): Promise<Finding[]> {
  const list = (await client.getJson(UNLOCKS, { timeoutMs })) as { items?: StoredUnlock[] } | undefined;
  const found: Finding[] = [];
  for (const item of list?.items ?? []) {
    const violation = item.status?.violation;
    const target = item.spec?.target;
    if (!violation || !item.metadata?.name || !target?.kind || !target.name) continue;
    found.push({
      target: {
        apiVersion: target.apiVersion ?? 'v1',
        kind: target.kind,
        ...(target.namespace ? { namespace: target.namespace } : {}),
        name: target.name,
        uid: '',
      },
      policy: 'bulwark-unlocks',
      reason: UNREVIEWED_RULE,
      category: 'Break-glass',
      message: `UnlockRequest ${item.metadata.name}: ${violation}`,
      related: {
        apiVersion: POLICY_API_VERSION,
        kind: 'UnlockRequest',
        name: item.metadata.name,
        uid: item.metadata.uid ?? '',
      },
    });
  }
  return found;
}
