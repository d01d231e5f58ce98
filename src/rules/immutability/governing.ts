// Which policies govern a locked object (pure), and whether a change of the object's own
// labels would loosen that. Labels select policies (objectSelector), so a label change
// that a policy's allowedChanges lets through could move a locked object under a looser
// policy: tier=db -> tier=web under an Audit policy, and the next change passes. Such a
// change is judged like a policy change or a namespace relabelling: what governs the
// object afterwards must be at least as strict as what governs it now.

import type { KubeObject } from '../../admission/types.ts';
import { strictStandIn } from '../../policy/builtin.ts';
import type { CompiledImmutabilityPolicy, MatchTarget, PolicySnapshot } from '../../policy/compiled.ts';
import { immutabilityLoosenings } from '../../policy/strictness.ts';

/**
 * The policies that govern a locked object: those whose match selects it (looked up by
 * group and kind in the index), else the built-in default. A policy whose match cannot be
 * decided (namespace labels unknown) applies in its strictest reading.
 */
export function applicablePolicies(
  snapshot: PolicySnapshot,
  target: MatchTarget,
): readonly CompiledImmutabilityPolicy[] {
  return governingAmong(
    snapshot.immutability.lookup(target.group, target.kind, target.namespace),
    snapshot.defaultImmutability,
    target,
  );
}

/** applicablePolicies over an explicit list of candidates (to compare a policy's old and new versions). */
export function governingAmong(
  candidates: readonly CompiledImmutabilityPolicy[],
  fallback: CompiledImmutabilityPolicy,
  target: MatchTarget,
): readonly CompiledImmutabilityPolicy[] {
  const found: CompiledImmutabilityPolicy[] = [];
  for (const policy of candidates) {
    const result = policy.match(target);
    if (result === 'match') found.push(policy);
    else if (result === 'unknown')
      found.push(strictStandIn(policy, `the labels of namespace ${target.namespace ?? ''} are unknown`));
  }
  return found.length > 0 ? found : [fallback];
}

/** Whether two objects carry the same labels, in any order (checked on every update of a locked object). */
function sameLabels(a: KubeObject, b: KubeObject): boolean {
  const x: Record<string, unknown> = a.metadata?.labels ?? {};
  const y: Record<string, unknown> = b.metadata?.labels ?? {};
  const keys = Object.keys(x);
  if (keys.length !== Object.keys(y).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(y, key)) return false;
    const u = x[key];
    const v = y[key];
    // Label values are strings; anything else compares by its JSON text, as the sorted text once did.
    if (u !== v && (typeof u === 'string' || typeof v === 'string' || JSON.stringify(u) !== JSON.stringify(v)))
      return false;
  }
  return true;
}

/**
 * How an update of a locked object that stays locked would loosen its protection by
 * changing its labels: one sentence per governing policy that nothing governing it
 * afterwards is as strict as. Empty when the labels stay, or nothing loosens.
 */
export function relabelLoosenings(
  snapshot: PolicySnapshot,
  target: MatchTarget,
  governing: readonly CompiledImmutabilityPolicy[],
  oldObject: KubeObject,
  newObject: KubeObject,
): string[] {
  if (sameLabels(oldObject, newObject)) return [];
  const after = applicablePolicies(snapshot, { ...target, objectLabels: newObject.metadata?.labels ?? {} });
  return immutabilityLoosenings(governing, after);
}
