// Unreviewed emergency unlocks as findings of the audit's reports: an emergency UnlockRequest
// past its review deadline without its reviews carries status.violation, which the status loop
// (controller/unlock-status.ts, the one place that works it out) writes. Each such request is a
// `fail` result of policy `bulwark-unlocks`, rule `emergency-unreviewed`, in the PolicyReport
// `bulwark-drift` of its target's namespace (the ClusterPolicyReport for a cluster-scoped
// target), naming the request and its target, until the reviews arrive.

import type { KubeClient } from '../cluster/kube-client.ts';
import { POLICY_API_VERSION, UNLOCK_KINDS, unlockPath, type UnlockKind } from '../policy/crds.ts';
import type { Finding } from './report.ts';

export const UNREVIEWED_RULE = 'emergency-unreviewed';

interface StoredUnlock {
  metadata?: { name?: string; namespace?: string; uid?: string };
  spec?: { target?: { apiVersion?: string; kind?: string; namespace?: string; name?: string } };
  status?: { violation?: string };
}

/** Both kinds: a LocalUnlockRequest's finding lands in its own namespace's report (its target's). */
export async function unreviewedEmergencies(client: KubeClient, timeoutMs: number): Promise<Finding[]> {
  const found: Finding[] = [];
  for (const kind of Object.keys(UNLOCK_KINDS) as UnlockKind[])
    found.push(...(await unreviewedOfKind(client, kind, timeoutMs)));
  return found;
}

async function unreviewedOfKind(client: KubeClient, kind: UnlockKind, timeoutMs: number): Promise<Finding[]> {
  const list = (await client.getJson(unlockPath(kind), { timeoutMs })) as { items?: StoredUnlock[] } | undefined;
  const found: Finding[] = [];
  for (const item of list?.items ?? []) {
    const violation = item.status?.violation;
    const target = item.spec?.target;
    const namespace = item.metadata?.namespace;
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
      message: `${kind} ${namespace ? `${namespace}/` : ''}${item.metadata.name}: ${violation}`,
      related: {
        apiVersion: POLICY_API_VERSION,
        kind,
        ...(namespace ? { namespace } : {}),
        name: item.metadata.name,
        uid: item.metadata.uid ?? '',
      },
    });
  }
  return found;
}
