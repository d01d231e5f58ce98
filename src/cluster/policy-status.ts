// Reports each policy's compile outcome in its status (condition Ready with a reason and
// message), so `kubectl get imp` shows at once which policies are in force.

import type { Logger } from '../observability/logger.ts';
import { POLICY_GROUP, POLICY_KINDS, POLICY_VERSION } from '../policy/crds.ts';
import type { PolicyStatusReport } from '../policy/store.ts';
import type { KubeReader } from './kube-client.ts';

const MAX_MESSAGE = 2000;

export function policyStatusWriter(options: {
  reader: KubeReader;
  logger: Logger;
  now?: () => Date;
}): (report: PolicyStatusReport) => void {
  const { reader, logger } = options;
  const now = options.now ?? (() => new Date());
  /** uid -> what was last written, so our own status writes (new resourceVersions) are not rewritten. */
  const written = new Map<string, string>();
  return (report) => {
    if (report.source.uid.startsWith('file:')) return;
    const condition = {
      type: 'Ready',
      status: report.ready ? 'True' : 'False',
      reason: report.ready ? 'Compiled' : 'Invalid',
      message: (report.ready
        ? 'policy compiled and in force'
        : `policy is invalid and applies in its strictest reading: ${report.message}`
      ).slice(0, MAX_MESSAGE),
      observedGeneration: report.source.generation,
    };
    const signature = JSON.stringify(condition);
    if (written.get(report.source.uid) === signature) return;
    written.set(report.source.uid, signature);
    const collection = `/apis/${POLICY_GROUP}/${POLICY_VERSION}/${POLICY_KINDS[report.kind].plural}`;
    const path = `${collection}/${encodeURIComponent(report.source.name)}/status`;
    const patch = {
      status: {
        observedGeneration: report.source.generation,
        conditions: [
          {
            ...condition,
            lastTransitionTime: now()
              .toISOString()
              .replace(/\.\d+Z$/, 'Z'),
          },
        ],
      },
    };
    reader.mergePatch(path, patch, { timeoutMs: 10_000 }).then(
      () =>
        logger.info(
          {
            kind: report.kind,
            name: report.source.name,
            ready: report.ready,
            message: report.ready ? undefined : report.message,
          },
          report.ready ? 'policy compiled' : 'policy invalid: strictest reading applies',
        ),
      (err: unknown) => {
        written.delete(report.source.uid);
        logger.warn(
          { kind: report.kind, name: report.source.name, err: (err as Error).message },
          'could not write policy status',
        );
      },
    );
  };
}
