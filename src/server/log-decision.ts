// One structured log line per decided review: who did what to which object, and why
// it was allowed or denied. Denials, warnings and audit findings log at info; plain
// allows at debug (the apiserver's audit log records them, and at thousands of reviews
// a second a line each would cost more than the decision).

import type { AdmissionRequest } from '../admission/types.ts';
import type { Decided } from '../review/decide.ts';
import type { Logger } from '../observability/logger.ts';
import { clip, clipList } from '../observability/bounded.ts';

/** Reasons kept in a line, each cut at 1 KiB (the answer to the apiserver keeps them whole). */
const MAX_REASONS = 20;

function notable({ verdict }: Decided): boolean {
  return (
    !verdict.allowed ||
    verdict.warnings.length > 0 ||
    verdict.outcomes.some((o) => o.decision !== 'allow' && o.decision !== 'skip')
  );
}

export function logDecision(logger: Logger, request: AdmissionRequest, decided: Decided, seconds: number): void {
  const { verdict } = decided;
  if (!logger.isLevelEnabled(notable(decided) ? 'info' : 'debug') && decided.error === undefined) return;
  const fields = {
    uid: clip(request.uid),
    operation: request.operation,
    kind: clip(`${request.kind.group ? `${request.kind.group}/` : ''}${request.kind.version}/${request.kind.kind}`),
    resource: clip(
      request.subResource ? `${request.resource.resource}/${request.subResource}` : request.resource.resource,
    ),
    namespace: clip(request.namespace),
    name: clip(request.name),
    user: clip(request.userInfo.username),
    dryRun: request.dryRun === true,
    decision: verdict.allowed ? (verdict.warnings.length > 0 ? 'warn' : 'allow') : 'deny',
    rules: verdict.outcomes.filter((o) => o.decision !== 'skip').map((o) => `${o.rule}:${o.decision}`),
    reasons: verdict.reasons.length > 0 ? clipList(verdict.reasons, MAX_REASONS, 1024) : undefined,
    warnings: verdict.warnings.length > 0 ? clipList(verdict.warnings) : undefined,
    ms: Math.round(seconds * 1e6) / 1e3,
  };
  if (decided.error !== undefined)
    logger.error({ ...fields, err: decided.error }, 'decision failed; denied (fail closed)');
  else if (notable(decided)) logger.info(fields, 'admission decision');
  else logger.debug(fields, 'admission decision');
}
