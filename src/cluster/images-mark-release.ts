// Before an ImagePolicy is admitted, the `bulwark.dev/images` mark goes from every namespace
// it applies to (rules/images/images-mark.ts), so that its first pod is sent to Bulwark.
// Removing a mark is always safe; a merge patch that removes an absent label writes nothing.
// Bounded: a few patches at once, all within a budget well inside the decision deadline;
// what is not done in time is reported as failed, and the policy is denied.

import type { AdmissionRequest } from '../admission/types.ts';
import type { RequestFacts } from '../decision/facts.ts';
import { messageOf } from '../errors.ts';
import type { PolicySnapshot } from '../policy/compiled.ts';
import { marksToRelease, type NamespaceLabels } from '../rules/images/images-mark.ts';
import { IMAGES_MARK } from '../rules/immutability/namespace-marks.ts';
import type { KubeReader } from './kube-client.ts';

const CONCURRENCY = 8;

export async function releaseImagesMarks(
  reader: KubeReader,
  request: AdmissionRequest,
  snapshot: PolicySnapshot,
  namespaces: Iterable<NamespaceLabels>,
  options: { budgetMs: number; now?: () => number },
): Promise<RequestFacts['imagesMarkRelease']> {
  if (request.dryRun === true) return undefined;
  const pending = marksToRelease(request, snapshot, namespaces);
  if (pending.length === 0) return undefined;
  const now = options.now ?? Date.now;
  const deadline = now() + options.budgetMs;
  const failures: { namespace: string; reason: string }[] = [];
  const patch = { metadata: { labels: { [IMAGES_MARK]: null } } };
  const worker = async () => {
    for (let name = pending.shift(); name !== undefined; name = pending.shift()) {
      const left = deadline - now();
      if (left <= 0) {
        failures.push({ namespace: name, reason: 'out of time' });
        continue;
      }
      try {
        // 404: the namespace is gone, and with it the mark.
        await reader.mergePatch(`/api/v1/namespaces/${encodeURIComponent(name)}`, patch, { timeoutMs: left });
      } catch (err) {
        failures.push({ namespace: name, reason: messageOf(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, pending.length) }, worker));
  return { failures: failures.sort((a, b) => a.namespace.localeCompare(b.namespace)) };
}
