// Which unlock rules govern an UnlockRequest's target (pure). For an ordinary object,
// the ImmutabilityPolicies that govern it (else the built-in default). For what governs
// other objects' protection (a bulwark.dev policy, a Namespace whose labels select
// policies), the policy admins: changing those loosens locks, so they approve, together
// with an ImmutabilityPolicy's own approver groups when the target is that policy. A
// governance target that is itself locked also needs its governing policies' approvers.

import type { KubeObject } from '../../admission/types.ts';
import type { PolicySnapshot } from '../../policy/compiled.ts';
import { POLICY_GROUP } from '../../policy/crds.ts';
import type { Labels } from '../../policy/selector.ts';
import { applicablePolicies } from '../immutability/governing.ts';
import { ruleOfPolicy, type ApprovalRule } from './approvals.ts';
import type { UnlockTarget } from '../../policy/compile-unlock.ts';

export const POLICY_ADMINS = 'the policy admins';

/**
 * A bulwark.dev policy, a Namespace, a CRD or an APIService: objects whose changes can
 * loosen the protection of others (a CRD's schema decides how its locked objects read, an
 * APIService which server answers for them).
 */
export function isGovernanceTarget(t: Pick<UnlockTarget, 'group' | 'kind'>): boolean {
  return (
    (t.group === POLICY_GROUP && (t.kind === 'ImmutabilityPolicy' || t.kind === 'ImagePolicy')) ||
    (t.group === '' && t.kind === 'Namespace') ||
    (t.group === 'apiextensions.k8s.io' && t.kind === 'CustomResourceDefinition') ||
    (t.group === 'apiregistration.k8s.io' && t.kind === 'APIService')
  );
}

/** The policy admins' rule; for an ImmutabilityPolicy target, its own approver groups may approve too. */
export function policyAdminRule(
  snapshot: PolicySnapshot,
  target: Pick<UnlockTarget, 'group' | 'kind'>,
  object: KubeObject | undefined,
): ApprovalRule {
  const own =
    object && target.group === POLICY_GROUP && target.kind === 'ImmutabilityPolicy'
      ? snapshot.compiler.immutability({ ...object, kind: 'ImmutabilityPolicy' })
      : undefined;
  const defaults = snapshot.defaultImmutability.unlock;
  return {
    source: POLICY_ADMINS,
    unlock: {
      approvalsRequired: defaults.approvalsRequired,
      maxDurationMs: defaults.maxDurationMs,
      approverGroups: new Set([...snapshot.policyAdmins.groups, ...(own?.ok ? own.policy.unlock.approverGroups : [])]),
      approverUsers: snapshot.policyAdmins.users,
    },
  };
}

export function approvalRulesFor(
  snapshot: PolicySnapshot,
  target: UnlockTarget,
  object: KubeObject | undefined,
  namespaceLabels: Labels | undefined,
): ApprovalRule[] {
  const policies = () =>
    applicablePolicies(snapshot, {
      group: target.group,
      kind: target.kind,
      ...(target.namespace ? { namespace: target.namespace } : {}),
      objectLabels: object?.metadata?.labels ?? {},
      namespaceLabels,
    }).map(ruleOfPolicy);
  if (!isGovernanceTarget(target)) return policies();
  const locked = object?.metadata?.labels?.[snapshot.lockLabel.key] === snapshot.lockLabel.value;
  return [policyAdminRule(snapshot, target, object), ...(locked ? policies() : [])];
}
