// Seals as e2e tests read them: `kubectl get seal UID` (cluster-scoped, named after the
// sealed object's uid), and waiting for the audit loop (every 3 s in the harness) to write one.

import { kubectl } from '../../../harness/context.ts';
import { until } from './plugin.ts';

export const SEAL_WITHIN_MS = 30_000;

export interface SealedState {
  hash: string;
  reason: string;
  unlockRequest?: string;
  approvers?: string[];
  unlock?: { kind: string; namespace?: string; name: string; requester: string };
  changedBy?: { user: string; groups: string[]; requestUid: string; at: string };
  records?: string[];
}

export interface Seal {
  spec: { target: { name: string; uid: string }; current: SealedState; history?: SealedState[] };
}

export async function sealOf(uid: string): Promise<Seal | undefined> {
  const r = await kubectl(['get', 'seal', uid, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as Seal) : undefined;
}

/** The object's Seal once the audit has written one that passes `check`. */
export async function sealed(uid: string, check: (s: Seal) => boolean = () => true): Promise<Seal> {
  let seal: Seal | undefined;
  await until(async () => {
    seal = await sealOf(uid);
    return seal !== undefined && check(seal);
  }, SEAL_WITHIN_MS);
  return seal!;
}
