// The ImmutabilityPolicies that govern an object in the cluster now, read as the webhook
// reads them (rules/immutability/governing.ts over the policies listed from the API), and
// what they mean for a lock in words: `lock` must not promise more than they enforce.

import type { KubeObject } from '../../admission/types.ts';
import { resourcePath } from '../../cluster/discovery.ts';
import type { CompiledImmutabilityPolicy, LockLabel } from '../../policy/compiled.ts';
import { createPolicyCompiler } from '../../policy/compiler.ts';
import { BULWARK_KINDS, POLICY_API_VERSION } from '../../policy/crds.ts';
import { PolicyStore } from '../../policy/store.ts';
import { applicablePolicies } from '../../rules/immutability/governing.ts';
import { TIMEOUT_MS, type Session } from './session.ts';

export const getObject = async (session: Session, path: string) => {
  const res = await session.client.call('GET', path, { timeoutMs: TIMEOUT_MS });
  return res.status === 200 ? (res.body as KubeObject) : undefined;
};

/** A store of the cluster's ImmutabilityPolicies, compiled once. */
export async function clusterPolicies(session: Session, label: LockLabel): Promise<PolicyStore> {
  const store = new PolicyStore({ compiler: createPolicyCompiler(), lockLabel: label, sources: [] });
  const list = await getObject(session, `/apis/${POLICY_API_VERSION}/${BULWARK_KINDS.ImmutabilityPolicy.plural}`);
  for (const p of (list?.items as KubeObject[] | undefined) ?? [])
    store.upsert('ImmutabilityPolicy', { apiVersion: POLICY_API_VERSION, kind: 'ImmutabilityPolicy', ...p });
  return store;
}

export interface Target {
  group: string;
  kind: string;
  namespace?: string;
  name: string;
}

export async function governingPolicies(session: Session, store: PolicyStore, t: Target) {
  const resource = await session.discovery.find(t.group, t.kind);
  const object = resource ? await getObject(session, resourcePath(resource, t.namespace, t.name)) : undefined;
  const ns = t.namespace
    ? await getObject(session, `/api/v1/namespaces/${encodeURIComponent(t.namespace)}`)
    : undefined;
  return applicablePolicies(store.snapshot(), {
    group: t.group,
    kind: t.kind,
    ...(t.namespace ? { namespace: t.namespace } : {}),
    objectLabels: object?.metadata?.labels ?? {},
    namespaceLabels: ns?.metadata?.labels,
  });
}

/**
 * What a lock under these policies does, as the end of "X is locked (label): ...". The
 * webhook denies when any governing policy enforces; Warn and Audit only report.
 */
export function lockMeaning(policies: readonly CompiledImmutabilityPolicy[]): string {
  const enforcing = policies.filter((p) => p.enforcement === 'Enforce');
  const unlockNeeded = 'without an approved UnlockRequest';
  if (enforcing.length === 0) {
    const how = policies.map((p) => `ImmutabilityPolicy ${p.name}: ${p.enforcement}`).join(', ');
    return (
      `but the policies governing it only ${policies.some((p) => p.enforcement === 'Warn') ? 'warn' : 'audit'} ` +
      `(${how}): changes and deletion still go through, with a warning or an audit record`
    );
  }
  const update = enforcing.some((p) => p.operations.has('UPDATE'));
  const remove = enforcing.some((p) => p.operations.has('DELETE'));
  if (update && remove) return `it can no longer be changed or deleted ${unlockNeeded}`;
  if (update)
    return `it can no longer be changed ${unlockNeeded}, but it can still be deleted (no policy locks DELETE)`;
  return `it can no longer be deleted ${unlockNeeded}, but it can still be changed (no policy locks UPDATE)`;
}
