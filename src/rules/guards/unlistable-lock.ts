// Locking an object of a kind Bulwark may not list (pure). The deletion guards find the
// locked objects a Namespace or CRD still holds by listing every kind; a kind outside
// Bulwark's RBAC (Secrets without rbac.listSecrets, custom resources not named in
// rbac.lockableResources) would be invisible to them, and deleting the namespace would
// delete its locked objects. So the lock label is refused on such a kind, up front, with
// what to change. The shell reports the kind as forbidden only on the API server's 403.

import type { AdmissionRequest, KubeObject } from '../../admission/types.ts';
import type { RequestFacts } from '../../decision/facts.ts';
import { allow, deny, type Verdict } from '../../decision/verdict.ts';
import type { LockLabel, PolicySnapshot } from '../../policy/compiled.ts';

export const RULE = 'unlistable-lock';

const locked = (o: KubeObject | null | undefined, label: LockLabel) => o?.metadata?.labels?.[label.key] === label.value;

/** A CREATE or UPDATE of the object itself that leaves it locked when it was not. */
export function locksObject(request: AdmissionRequest, label: LockLabel): boolean {
  if (request.subResource !== undefined) return false;
  if (request.operation === 'CREATE') return locked(request.object, label);
  return request.operation === 'UPDATE' && locked(request.object, label) && !locked(request.oldObject, label);
}

export function evaluateUnlistableLock(
  request: AdmissionRequest,
  snapshot: PolicySnapshot,
  facts: RequestFacts,
): Verdict {
  if (facts.lockListing !== 'forbidden' || !locksObject(request, snapshot.lockLabel)) return allow(RULE, 'skip');
  const { resource, group } = request.resource;
  const name = group === '' ? resource : `${resource}.${group}`;
  const option =
    group === '' && resource === 'secrets' ? 'rbac.listSecrets=true' : `an entry for ${name} in rbac.lockableResources`;
  return deny(
    RULE,
    `bulwark may not list ${name}, so it could not see this object once locked (deleting its namespace ` +
      `would delete it unchecked); the label ${snapshot.lockLabel.key}=${snapshot.lockLabel.value} is refused ` +
      `on ${name}. Grant bulwark the list (chart value ${option}) to lock them`,
  );
}
