// The built-in default: with no ImmutabilityPolicy at all, labelled objects are locked
// against UPDATE and DELETE, enforced. Safe by default.

import type { CompiledImmutabilityPolicy, LockLabel, PolicySnapshot } from './compiled.ts';

export const DEFAULT_LOCK_LABEL: LockLabel = { key: 'bulwark.dev/immutable', value: 'true' };

export const BUILTIN_IMMUTABILITY_POLICY: CompiledImmutabilityPolicy = Object.freeze({
  name: 'builtin-default',
  uid: 'builtin',
  resourceVersion: '0',
  operations: new Set(['UPDATE', 'DELETE'] as const),
  allowedPaths: [],
  enforcement: 'Enforce',
  exempt: { users: new Set<string>(), groups: new Set<string>() },
  matches: () => true,
});

export function builtinSnapshot(lockLabel: LockLabel = DEFAULT_LOCK_LABEL): PolicySnapshot {
  return Object.freeze({ lockLabel, immutability: [BUILTIN_IMMUTABILITY_POLICY], synced: true });
}
