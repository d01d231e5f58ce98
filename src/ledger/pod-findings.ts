// How a running Pod's image findings (rules/images/running.ts) enter the drift reports
// (report.ts): one result per image under the policy `bulwark-images`, and the Pods counted
// by their worst result for the gauge bulwark_running_pods_failing_images.

import type { SealTarget } from '../attestation/seal.ts';
import type { RunningImageFinding } from '../rules/images/running.ts';
import { IMAGES_POLICY, RESULT_RANK, type Finding, type ResultKind } from './report.ts';

export function findingOf(target: SealTarget, f: RunningImageFinding): Finding {
  return {
    target,
    policy: IMAGES_POLICY,
    reason: f.policies.length > 0 ? f.policies.join(',') : 'images',
    category: 'Images',
    result: f.result,
    message: f.message,
    properties: {
      ...(f.image !== undefined ? { image: f.image } : {}),
      ...(f.path !== undefined ? { field: f.path } : {}),
      ...(f.policies.length > 0 ? { imagePolicies: f.policies.join(',') } : {}),
    },
  };
}

/** Pods (each its list of findings) by their worst result. */
export function countByWorst(pods: Iterable<readonly Finding[]>): Record<ResultKind, number> {
  const failing: Record<ResultKind, number> = { fail: 0, error: 0, warn: 0 };
  for (const list of pods) {
    const worst = list.reduce<ResultKind>(
      (w, f) => (RESULT_RANK[f.result ?? 'fail'] > RESULT_RANK[w] ? (f.result ?? 'fail') : w),
      'warn',
    );
    failing[worst] += 1;
  }
  return failing;
}
