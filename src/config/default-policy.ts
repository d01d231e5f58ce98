// The built-in default ImmutabilityPolicy with the unlock rules from configuration
// (`--default-approver-groups`): who may approve unlocks of objects no policy matches.

import { defaultPolicy } from '../policy/builtin.ts';
import type { CompiledImmutabilityPolicy } from '../policy/compiled.ts';
import { parseDuration } from '../policy/duration.ts';
import type { Config } from './schema.ts';

export function defaultPolicyOf(config: Config): CompiledImmutabilityPolicy {
  const { approverGroups, approvalsRequired, maxDuration } = config.defaultUnlock;
  return defaultPolicy({ approverGroups, approvalsRequired, maxDurationMs: parseDuration(maxDuration) ?? 3_600_000 });
}
