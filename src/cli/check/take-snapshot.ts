// Takes a ClusterSnapshot through the API (read-only): Bulwark's policies and
// UnlockRequests, namespace labels, and every object carrying the lock label, found as
// `kubectl bulwark status -A` finds them (a labelSelector list of every listable resource).

import type { KubeObject } from '../../admission/types.ts';
import { resourcePath } from '../../cluster/discovery.ts';
import { BaseError } from '../../errors.ts';
import type { LockLabel } from '../../policy/compiled.ts';
import { BULWARK_KINDS, POLICY_API_VERSION, unlockPath } from '../../policy/crds.ts';
import { apiMessage, TIMEOUT_MS, type Session } from '../plugin/session.ts';
import { SNAPSHOT_API_VERSION, type ClusterSnapshot } from './snapshot.ts';

async function list(session: Session, path: string, kind: string, apiVersion: string): Promise<KubeObject[]> {
  const res = await session.client.call('GET', path, { timeoutMs: TIMEOUT_MS });
  if (res.status !== 200) throw new BaseError('KUBE_API_ERROR', `cannot list ${path}: ${apiMessage(res)}`);
  // A list's items carry neither apiVersion nor kind: put them back, the core reads them.
  return ((res.body as { items?: KubeObject[] }).items ?? []).map((o) => ({ apiVersion, kind, ...o }));
}

export async function takeSnapshot(session: Session, label: LockLabel, now: Date): Promise<ClusterSnapshot> {
  const bulwark = (kind: keyof typeof BULWARK_KINDS) =>
    list(session, `/apis/${POLICY_API_VERSION}/${BULWARK_KINDS[kind].plural}`, kind, POLICY_API_VERSION);
  const selector = encodeURIComponent(`${label.key}=${label.value}`);
  const resources = (await session.discovery.resources()).filter((r) => r.verbs.includes('list'));
  const [immutability, images, unlocks, localUnlocks, namespaces, locked] = await Promise.all([
    bulwark('ImmutabilityPolicy'),
    bulwark('ImagePolicy'),
    bulwark('UnlockRequest'),
    // Without the LocalUnlockRequest CRD (a cluster not yet upgraded) there are none: fewer unlocks, never more.
    list(session, unlockPath('LocalUnlockRequest'), 'LocalUnlockRequest', POLICY_API_VERSION).catch(() => []),
    list(session, '/api/v1/namespaces', 'Namespace', 'v1'),
    Promise.all(
      resources.map((r) =>
        list(
          session,
          `${resourcePath(r)}?labelSelector=${selector}`,
          r.kind,
          r.group ? `${r.group}/${r.version}` : r.version,
        ).catch(() => []),
      ),
    ),
  ]);
  const objects = locked.flat().map((o) => {
    const { managedFields: _ignored, ...metadata } = o.metadata ?? {};
    return { ...o, metadata };
  });
  return {
    apiVersion: SNAPSHOT_API_VERSION,
    kind: 'ClusterSnapshot',
    takenAt: now.toISOString(),
    lockLabel: label,
    policies: [...immutability, ...images],
    unlocks: [...unlocks, ...localUnlocks],
    namespaces: Object.fromEntries(namespaces.map((n) => [n.metadata?.name ?? '', n.metadata?.labels ?? {}])),
    objects,
  };
}
