// Running Pods judged against the ImagePolicies in force now (issue 14), pure: the Pod as if it
// were created again (every container, initContainer, ephemeralContainer and image volume),
// judged by the image rule's own judgements (evaluate.ts), then one result per image that does
// not pass: `fail` (admission would deny it now: unsigned, another key, off the approved list,
// not pinned), `error` (it could not be verified: the registry, a Secret or the time ran out;
// never `pass`) or `warn` (a Warn or Audit policy would only warn). The I/O shell
// (ledger/running-pods.ts) gathers the facts with admission's verifier and cache.

import type { AdmissionRequest, KubeObject } from '../../admission/types.ts';
import type { RequestFacts } from '../../decision/facts.ts';
import type { PolicySnapshot } from '../../policy/compiled.ts';
import { judgeImages, RULE, type ImageJudgement } from './evaluate.ts';

export type RunningResult = 'fail' | 'error' | 'warn';

export interface RunningImageFinding {
  result: RunningResult;
  /** The image as the Pod names it; absent when the finding is about every image (an invalid policy). */
  image?: string;
  /** Its field: `spec.containers[0].image`. */
  path?: string;
  /** The ImagePolicies behind the finding. */
  policies: string[];
  /** Why, naming the image, its field and each policy's cause. */
  message: string;
}

/** The request admission would see for this Pod now: a CREATE, so every image is judged. */
export function podAsCreate(pod: KubeObject): AdmissionRequest {
  const { namespace, name, uid } = pod.metadata ?? {};
  return {
    uid: `running-${uid ?? ''}`,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    ...(name ? { name } : {}),
    ...(namespace ? { namespace } : {}),
    operation: 'CREATE',
    userInfo: { username: 'system:bulwark:audit' },
    object: { ...pod, apiVersion: 'v1', kind: 'Pod' },
  };
}

/** A Pod that ran to its end runs nothing: it is not judged. */
export function isTerminated(pod: KubeObject): boolean {
  const phase = (pod as { status?: { phase?: string } }).status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

function resultOf(j: ImageJudgement): RunningResult | undefined {
  const { verdict } = j;
  if (!verdict.allowed) return j.unverifiable ? 'error' : 'fail';
  return verdict.outcomes.some((o) => o.decision === 'warn' || o.decision === 'audit') ? 'warn' : undefined;
}

function messageOf(j: ImageJudgement): string {
  const { verdict } = j;
  return verdict.reasons[0] ?? verdict.warnings[0] ?? verdict.auditAnnotations[`${RULE}-audit`] ?? '';
}

const RANK: Record<RunningResult, number> = { fail: 3, error: 2, warn: 1 };

/**
 * What the Pod's images come to under the policies now: one finding per image (by field) that
 * does not pass, with the worst result of its policies and every cause of that result; none
 * when all pass or no policy applies.
 */
export function judgeRunningPod(pod: KubeObject, snapshot: PolicySnapshot, facts: RequestFacts): RunningImageFinding[] {
  const judgements = judgeImages(podAsCreate(pod), snapshot, facts) ?? [];
  const byField = new Map<string, { image?: string; path?: string; found: [RunningResult, ImageJudgement][] }>();
  for (const j of judgements) {
    const result = resultOf(j);
    if (!result) continue;
    const key = j.use?.path ?? '';
    const entry = byField.get(key) ?? {
      ...(j.use ? { image: j.use.image, path: j.use.path } : {}),
      found: [],
    };
    entry.found.push([result, j]);
    byField.set(key, entry);
  }
  const findings: RunningImageFinding[] = [];
  for (const { image, path, found } of byField.values()) {
    const worst = found.reduce((w, [r]) => (RANK[r] > RANK[w] ? r : w), 'warn' as RunningResult);
    const causes = found.filter(([r]) => r === worst).map(([, j]) => j);
    findings.push({
      result: worst,
      ...(image !== undefined ? { image } : {}),
      ...(path !== undefined ? { path } : {}),
      policies: [...new Set(causes.flatMap((j) => j.verdict.outcomes.flatMap((o) => (o.policy ? [o.policy] : []))))],
      message: causes.map(messageOf).join('; '),
    });
  }
  return findings;
}
