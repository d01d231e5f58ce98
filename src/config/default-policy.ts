// Policy-related configuration in compiled form: the built-in default ImmutabilityPolicy
// with the unlock rules from configuration (`--default-approver-groups`: who may approve
// unlocks of objects no policy matches), and who may write policies at all.

import { defaultPolicy } from '../policy/builtin.ts';
import type { CompiledImmutabilityPolicy, SubjectSet } from '../policy/compiled.ts';
import { parseDuration } from '../policy/duration.ts';
import type { Config } from './schema.ts';

export function defaultPolicyOf(config: Config): CompiledImmutabilityPolicy {
  const { approverGroups, approvalsRequired, maxDuration } = config.defaultUnlock;
  return defaultPolicy({ approverGroups, approvalsRequired, maxDurationMs: parseDuration(maxDuration) ?? 3_600_000 });
}

/** The policy admins from configuration (--policy-admin-groups, --policy-admin-users). */
export function policyAdminsOf(config: Config): SubjectSet {
  return { groups: new Set(config.policyAdmins.groups), users: new Set(config.policyAdmins.users) };
}
