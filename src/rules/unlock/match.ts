// Whether an approved, unexpired UnlockRequest lifts the lock for this exact request:
// same target (looked up by the shell), the operation listed, enough distinct approvals,
// not expired at the request's time, and, when bound to a change, exactly that change.

import jsonPatch from 'fast-json-patch';
import type { KubeObject } from '../../admission/types.ts';
import { cloneJson } from '../../json/clone.ts';
import { semanticChanges } from '../immutability/diff.ts';
import type { CompiledUnlock, PatchOperation } from './compile.ts';

export interface UnlockDemand {
  operation: 'UPDATE' | 'DELETE';
  approvalsRequired: number;
  now: number;
  oldObject?: KubeObject;
  newObject?: KubeObject;
}

export type UnlockMatch = { ok: true; unlock: CompiledUnlock } | { ok: false; why: string[] };

/** True when applying `patch` to the old object gives the new one, bookkeeping aside. */
export function makesExactly(patch: readonly PatchOperation[], oldObject: KubeObject, newObject: KubeObject): boolean {
  let patched: KubeObject;
  try {
    patched = jsonPatch.applyPatch(cloneJson(oldObject), patch as jsonPatch.Operation[], true, true).newDocument;
  } catch {
    return false;
  }
  return semanticChanges(patched, newObject).length === 0;
}

function whyNot(unlock: CompiledUnlock, demand: UnlockDemand): string | undefined {
  if (!unlock.operations.has(demand.operation)) return `it does not unlock ${demand.operation}`;
  if (demand.now >= unlock.expiresAtMs) return `it expired at ${new Date(unlock.expiresAtMs).toISOString()}`;
  if (unlock.approvers.length < demand.approvalsRequired) {
    return `it has ${unlock.approvers.length} of the ${demand.approvalsRequired} approvals it needs`;
  }
  if (unlock.patch && demand.operation === 'UPDATE') {
    if (!demand.oldObject || !demand.newObject || !makesExactly(unlock.patch, demand.oldObject, demand.newObject)) {
      return 'this update is not the change it was approved for';
    }
  }
  return undefined;
}

export function findUnlock(unlocks: readonly CompiledUnlock[], demand: UnlockDemand): UnlockMatch {
  const why: string[] = [];
  for (const unlock of unlocks) {
    const reason = whyNot(unlock, demand);
    if (reason === undefined) return { ok: true, unlock };
    why.push(`UnlockRequest ${unlock.name}: ${reason}`);
  }
  return { ok: false, why };
}
