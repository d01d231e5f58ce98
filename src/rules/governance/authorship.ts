// Who may write policies (pure). Whoever writes a policy can exempt themselves or turn a
// lock into an audit log, so Bulwark itself limits authorship of ImmutabilityPolicy and
// ImagePolicy objects to the configured policy admins, whatever RBAC grants. Writes that
// change nothing a person wrote stay open to everyone: status (Bulwark's own reports),
// apiserver bookkeeping, a controller removing its finalizer from a policy being deleted,
// the garbage collector removing owner references.

import type { AdmissionRequest } from '../../admission/types.ts';
import { allow, deny, type Verdict } from '../../decision/verdict.ts';
import type { PolicySnapshot, SubjectSet } from '../../policy/compiled.ts';
import { POLICY_GROUP } from '../../policy/crds.ts';
import { semanticChanges } from '../../diff/semantic-diff.ts';
import { withoutSystemWork } from '../immutability/evaluate.ts';

export const RULE = 'policy-authorship';

/** An ImmutabilityPolicy or ImagePolicy being created, changed or deleted (not its status). */
export function isPolicyWrite(request: AdmissionRequest): boolean {
  return (
    request.kind.group === POLICY_GROUP &&
    (request.kind.kind === 'ImmutabilityPolicy' || request.kind.kind === 'ImagePolicy') &&
    request.subResource === undefined &&
    (request.operation === 'CREATE' || request.operation === 'UPDATE' || request.operation === 'DELETE')
  );
}

export function isPolicyAdmin(admins: SubjectSet, user: AdmissionRequest['userInfo']): boolean {
  return (
    (user.username !== undefined && admins.users.has(user.username)) ||
    (user.groups ?? []).some((g) => admins.groups.has(g))
  );
}

function describeAdmins(admins: SubjectSet): string {
  const parts = [...[...admins.groups].map((g) => `group ${g}`), ...[...admins.users].map((u) => `user ${u}`)];
  return parts.length > 0 ? parts.join(', ') : 'nobody is configured';
}

/** Only bookkeeping or system work: no change a policy author made. */
function changesNothingWritten(request: AdmissionRequest): boolean {
  if (request.operation !== 'UPDATE' || !request.oldObject || !request.object) return false;
  return (
    withoutSystemWork(semanticChanges(request.oldObject, request.object), request, request.oldObject, request.object)
      .length === 0
  );
}

export function evaluatePolicyAuthorship(request: AdmissionRequest, snapshot: PolicySnapshot): Verdict {
  if (!isPolicyWrite(request)) return allow(RULE, 'skip');
  if (isPolicyAdmin(snapshot.policyAdmins, request.userInfo) || changesNothingWritten(request)) return allow(RULE);
  const verb = request.operation === 'CREATE' ? 'create' : request.operation === 'DELETE' ? 'delete' : 'change';
  const name = request.name || request.object?.metadata?.name || '';
  return deny(
    RULE,
    `only the policy admins (${describeAdmins(snapshot.policyAdmins)}) ` +
      `may ${verb} ${request.kind.kind} ${name}, whatever RBAC ` +
      `allows; ${request.userInfo.username ?? 'this user'} is not one of them`,
  );
}
