// The built-in default: a labelled object that no ImmutabilityPolicy matches is locked
// against UPDATE and DELETE, enforced. Safe by default, and what a policy that cannot be
// applied as written falls back to.

import type { CompiledImmutabilityPolicy, LockLabel, SubjectSet } from './compiled.ts';

export const DEFAULT_LOCK_LABEL: LockLabel = { key: 'bulwark.dev/immutable', value: 'true' };

const NOBODY = { users: new Set<string>(), groups: new Set<string>() };

/** Who may write policies unless configured otherwise: cluster administrators. */
export const DEFAULT_POLICY_ADMINS: SubjectSet = Object.freeze({
  users: new Set<string>(),
  groups: new Set(['system:masters']),
});

export const BUILTIN_IMMUTABILITY_POLICY: CompiledImmutabilityPolicy = Object.freeze({
  name: 'builtin-default',
  uid: 'builtin',
  resourceVersion: '0',
  generation: 0,
  resources: [{ group: '*', kind: '*' }],
  operations: new Set(['UPDATE', 'DELETE'] as const),
  allowedPaths: [],
  enforcement: 'Enforce',
  exempt: NOBODY,
  unlock: { approvalsRequired: 2, approverGroups: new Set<string>(), maxDurationMs: 3_600_000 },
  match: () => 'match' as const,
});

/**
 * The strictest reading of a policy that cannot be applied as written (invalid, or its
 * namespace labels unknown): lock UPDATE and DELETE, enforce, exempt nobody. Because the
 * strictest matching policy wins, a broken policy can never loosen a lock.
 */
export function strictStandIn(
  policy: Pick<CompiledImmutabilityPolicy, 'name' | 'uid' | 'resourceVersion' | 'generation'>,
  why: string,
): CompiledImmutabilityPolicy {
  return Object.freeze({
    ...BUILTIN_IMMUTABILITY_POLICY,
    name: policy.name,
    uid: policy.uid,
    resourceVersion: policy.resourceVersion,
    generation: policy.generation,
    message: `ImmutabilityPolicy ${policy.name} cannot be applied (${why}), so its strictest reading applies`,
    standInFor: why,
  });
}

/** Unlock rules for the built-in default, from configuration (approver groups are empty unless configured). */
export interface DefaultUnlockRules {
  approverGroups?: readonly string[];
  approvalsRequired?: number;
  maxDurationMs?: number;
}

export function defaultPolicy(unlock: DefaultUnlockRules = {}): CompiledImmutabilityPolicy {
  if (Object.keys(unlock).length === 0) return BUILTIN_IMMUTABILITY_POLICY;
  return Object.freeze({
    ...BUILTIN_IMMUTABILITY_POLICY,
    unlock: {
      approvalsRequired: unlock.approvalsRequired ?? BUILTIN_IMMUTABILITY_POLICY.unlock.approvalsRequired,
      approverGroups: new Set(unlock.approverGroups ?? []),
      maxDurationMs: unlock.maxDurationMs ?? BUILTIN_IMMUTABILITY_POLICY.unlock.maxDurationMs,
    },
  });
}
