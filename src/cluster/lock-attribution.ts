// Records who locked an object, when this replica admits the lock (attestation/attribution.ts):
// one LockAttribution in Bulwark's namespace, named after the request's uid (so the same
// request reaching two webhook entries, or retried, makes one record), written before the
// answer goes back, so it exists before the object does. A dry run stores nothing, so it
// records nothing (sideEffects NoneOnDryRun). Locking is the safe direction: a failed
// write never denies the lock; it is logged and counted, and the seal will say that it
// has no author and why.

import type { AdmissionRequest } from '../admission/types.ts';
import { ATTRIBUTION_KIND, attributionOf, attributionsPath, signAttribution } from '../attestation/attribution.ts';
import type { Verdict } from '../decision/verdict.ts';
import type { LockLabel } from '../policy/compiled.ts';
import { writeRecord, type RecordWriterOptions } from './admission-record.ts';

export interface AttributionRecorderOptions extends RecordWriterOptions {
  lockLabel: () => LockLabel;
  now?: () => number;
}

export type AdmittedHook = (request: AdmissionRequest, verdict: Verdict) => Promise<void>;

export function createAttributionRecorder(options: AttributionRecorderOptions): AdmittedHook {
  const now = options.now ?? Date.now;
  const path = attributionsPath(options.namespace);
  return async (request, verdict) => {
    if (!verdict.allowed || request.dryRun === true) return;
    const record = attributionOf(request, options.lockLabel(), new Date(now()).toISOString());
    if (!record) return;
    await writeRecord(options, {
      requestUid: request.uid,
      target: record.target,
      path,
      kind: ATTRIBUTION_KIND,
      sign: (ring) => signAttribution(ring, record),
      what: 'who locked it',
      without: 'the lock stands',
    });
  };
}
