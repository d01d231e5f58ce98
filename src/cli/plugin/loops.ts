// `kubectl bulwark status`'s last line: whether a replica runs Bulwark's controller loops
// (seals and the drift audit, UnlockRequest status, Events and notifications). They run on
// the replica holding the Lease `bulwark-controllers` (cluster/leader.ts); a Lease nobody
// renewed within its duration means they are paused: admission still works, but nothing
// is sealed, audited or reported. Read from the Lease itself, the way the replicas decide.

import { LEASE_NAME } from '../../cluster/leader.ts';
import { apiMessage, TIMEOUT_MS, type Session } from './session.ts';

interface Lease {
  metadata?: { namespace?: string };
  spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number };
}

/** One line per Lease found (one per installation), saying whether its loops run. */
export function describeLoops(leases: readonly Lease[], nowMs: number): string[] {
  if (leases.length === 0)
    return [`Loops: no Lease ${LEASE_NAME} in any namespace: Bulwark's loops have never run (no cluster connection?)`];
  return leases.map((lease) => {
    const where = `namespace ${lease.metadata?.namespace ?? '?'}`;
    const { holderIdentity: holder, renewTime, leaseDurationSeconds: seconds = 0 } = lease.spec ?? {};
    const renewedMs = Date.parse(renewTime ?? '');
    const ago = Number.isFinite(renewedMs) ? `${Math.max(0, Math.round((nowMs - renewedMs) / 1000))} s ago` : 'never';
    if (holder && Number.isFinite(renewedMs) && nowMs - renewedMs <= seconds * 1000)
      return `Loops: run by ${holder} in ${where} (Lease renewed ${ago})`;
    return (
      `Loops PAUSED in ${where}: no replica holds the Lease ${LEASE_NAME} (last renewed ${ago}` +
      `${holder ? ` by ${holder}` : ''}, lease ${seconds} s): nothing is sealed, audited or reported ` +
      'until one does (alert BulwarkLoopsPaused; metric bulwark_controller_lease)'
    );
  });
}

export async function printLoops(session: Session, print: (line: string) => void, nowMs: number) {
  const res = await session.client.call(
    'GET',
    `/apis/coordination.k8s.io/v1/leases?fieldSelector=metadata.name%3D${LEASE_NAME}`,
    { timeoutMs: TIMEOUT_MS },
  );
  if (res.status !== 200) {
    print(`Loops: cannot read Bulwark's Lease ${LEASE_NAME}: ${apiMessage(res)}`);
    return;
  }
  for (const line of describeLoops((res.body as { items?: Lease[] }).items ?? [], nowMs)) print(line);
}
