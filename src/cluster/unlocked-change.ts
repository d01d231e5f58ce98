// Records a change an UnlockRequest let through (attestation/unlocked-change.ts), when this
// replica admits it: one UnlockedChange in Bulwark's namespace, named after the request's
// uid, written before the answer goes back, so it exists before the change is stored. A dry
// run stores nothing, so it records nothing (sideEffects NoneOnDryRun). A failed write does
// not deny the change: the change itself is approved, and refusing it would block a
// break-glass fix in an incident because of an unrelated write. It is logged and counted, and
// the audit fails closed instead: without the record it reports the change as drift
// (changed-outside-unlock) and does not re-seal it.

import type { AdmissionRequest } from '../admission/types.ts';
import {
  signUnlockedChange,
  UNLOCKED_CHANGE_KIND,
  unlockedChangeOf,
  unlockedChangesPath,
  type UnlockRef,
} from '../attestation/unlocked-change.ts';
import type { Verdict } from '../decision/verdict.ts';
import { writeRecord, type RecordWriterOptions } from './admission-record.ts';
import type { AdmittedHook } from './lock-attribution.ts';

export interface UnlockedChangeRecorderOptions extends RecordWriterOptions {
  now?: () => number;
}

/** The unlock a verdict names (rules/unlock/match.ts unlockAnnotations), when an unlock let it through. */
export function unlockOf(verdict: Verdict): UnlockRef | undefined {
  if (!verdict.allowed || !verdict.outcomes.some((o) => o.decision === 'unlocked')) return undefined;
  const named = verdict.auditAnnotations['unlock-request'];
  if (!named) return undefined;
  const kind = verdict.auditAnnotations['unlock-request-kind'] ?? 'UnlockRequest';
  const slash = named.indexOf('/');
  return slash < 0 ? { kind, name: named } : { kind, namespace: named.slice(0, slash), name: named.slice(slash + 1) };
}

export function createUnlockedChangeRecorder(options: UnlockedChangeRecorderOptions): AdmittedHook {
  const now = options.now ?? Date.now;
  const path = unlockedChangesPath(options.namespace);
  return async (request: AdmissionRequest, verdict: Verdict) => {
    if (request.dryRun === true) return;
    const unlock = unlockOf(verdict);
    const record = unlock && unlockedChangeOf(request, unlock, new Date(now()).toISOString());
    if (!record) return;
    await writeRecord(options, {
      requestUid: request.uid,
      target: record.target,
      path,
      kind: UNLOCKED_CHANGE_KIND,
      sign: (ring) => signUnlockedChange(ring, record),
      what: 'a change under an unlock',
      without: 'the audit will report it as drift',
    });
  };
}
