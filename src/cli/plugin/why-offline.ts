// `kubectl bulwark why -f FILE --snapshot SNAPSHOT`: the same question answered offline,
// by `bulwark check`'s code (the webhook's core against a ClusterSnapshot) instead of a
// server-side dry run. What the API server itself would refuse (schema, conflicts) is not
// known offline; what Bulwark would decide is.

import { checkManifests, readManifests, type CheckResult } from '../check/check.ts';
import { readSnapshotFile } from '../check/snapshot.ts';
import { createPolicyCompiler } from '../../policy/compiler.ts';
import { outcomeOf, type WhyResult } from './why.ts';

export interface OfflineWhyOptions {
  snapshot: string;
  /** The namespace of manifests that name none. */
  namespace: string;
  nowMs: number;
}

function whyOf(r: CheckResult): WhyResult {
  const outcome = r.allowed ? outcomeOf(200, r.warnings) : { outcome: 'denied' as const };
  return {
    object: r.target,
    ...outcome,
    ...(r.allowed ? {} : { message: r.message ?? 'denied' }),
    warnings: r.warnings,
    ...(r.unlockCommand ? { unlockCommand: r.unlockCommand } : {}),
  };
}

export async function whyOffline(file: string, options: OfflineWhyOptions): Promise<WhyResult[]> {
  const [manifests, snapshot] = await Promise.all([
    readManifests([file]),
    readSnapshotFile(options.snapshot, createPolicyCompiler()),
  ]);
  const results = await checkManifests(manifests, snapshot, {
    defaultNamespace: options.namespace,
    nowMs: options.nowMs,
  });
  return results.map(whyOf);
}
