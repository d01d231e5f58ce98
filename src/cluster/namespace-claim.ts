// Before a lock is admitted into a namespace, its `bulwark.dev/locks` mark goes (see
// rules/immutability/namespace-marks.ts): one merge patch, which changes nothing (and
// writes nothing to etcd) when the namespace is unmarked and already stamped this minute.
// This is Bulwark's one write on the request path, hence sideEffects NoneOnDryRun: a
// dry run stores nothing, so it claims nothing.

import type { AdmissionRequest } from '../admission/types.ts';
import type { RequestFacts } from '../decision/facts.ts';
import { messageOf } from '../errors.ts';
import type { LockLabel } from '../policy/compiled.ts';
import { LOCK_ADMITTED_ANNOTATION, LOCKS_MARK, addsLock, claimStamp } from '../rules/immutability/namespace-marks.ts';
import type { KubeReader } from './kube-client.ts';

export async function claimNamespace(
  reader: KubeReader,
  request: AdmissionRequest,
  label: LockLabel,
  options: { now: number; timeoutMs: number },
): Promise<RequestFacts['namespaceClaim']> {
  if (request.dryRun === true || !addsLock(request, label)) return undefined;
  const patch = {
    metadata: { labels: { [LOCKS_MARK]: null }, annotations: { [LOCK_ADMITTED_ANNOTATION]: claimStamp(options.now) } },
  };
  try {
    // 404: the namespace is gone, and so the object cannot be created either.
    await reader.mergePatch(`/api/v1/namespaces/${encodeURIComponent(request.namespace!)}`, patch, {
      timeoutMs: options.timeoutMs,
    });
    return { status: 'claimed' };
  } catch (err) {
    return { status: 'unavailable', reason: messageOf(err) };
  }
}
