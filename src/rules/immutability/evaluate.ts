// The immutability rule (pure): an object whose *old* version carries the lock label
// is write-once. UPDATE that changes content and DELETE are denied; CREATE and adding
// the label are allowed (locking is always allowed, unlocking never is).

import type { AdmissionRequest, KubeObject } from '../../admission/types.ts';
import { cloneJson } from '../../json/clone.ts';
import { bindingWritesMetadata, isPodBinding, type RequestFacts } from '../../decision/facts.ts';
import { allow, byPolicy, combine, deny, enforce, type Verdict } from '../../decision/verdict.ts';
import type { CompiledImmutabilityPolicy, LockLabel, MatchTarget, PolicySnapshot } from '../../policy/compiled.ts';
import { boundPod, withoutTopologyLabels } from './binding.ts';
import { controllerWrites, deletionHint, lifecycleDeletion } from './controller-writes.ts';
import { applicablePolicies, relabelLoosenings } from './governing.ts';
import { GARBAGE_COLLECTORS } from '../../diff/bookkeeping.ts';
import { semanticChanges, type Change, type DiffOptions } from '../../diff/semantic-diff.ts';
import { ruleOfPolicy } from '../unlock/approvals.ts';
import { unlockName, type CompiledUnlock } from '../../policy/compile-unlock.ts';
import { emergencyWarnings, findUnlock, unlockAnnotations } from '../unlock/match.ts';
import { sealedStatesOf } from '../unlock/rollback.ts';
import { describeChanges, describeTarget, touchesLockLabel } from './message.ts';
import { isUnderPointer } from '../../diff/pointer.ts';

export const RULE = 'immutability';

/** What the request does to the locked object, once subresources are accounted for. */
type Action =
  | { kind: 'none' }
  | { kind: 'update'; locked: KubeObject; oldObject: KubeObject; newObject: KubeObject }
  | { kind: 'delete'; locked: KubeObject; eviction?: true }
  | { kind: 'error'; reason: string };

function isLocked(obj: KubeObject | null | undefined, label: LockLabel): obj is KubeObject {
  return obj?.metadata?.labels?.[label.key] === label.value;
}

function actionOf(request: AdmissionRequest, facts: RequestFacts): Action {
  const { operation, subResource } = request;
  if (operation === 'CONNECT') return { kind: 'none' };
  const binding = isPodBinding(request);
  if (binding && !bindingWritesMetadata(request)) return { kind: 'none' }; // it only sets the node
  if (subResource === 'scale' || subResource === 'eviction' || binding) {
    // The request object is a Scale, an Eviction or a Binding: the lock label lives on the parent.
    if (operation === 'CREATE' && subResource === 'scale') return { kind: 'none' };
    const parent = facts.parent;
    if (parent === undefined || parent.status === 'unavailable') {
      const why = parent?.status === 'unavailable' ? parent.reason : 'it was not looked up';
      return {
        kind: 'error',
        reason:
          `cannot tell whether the ${request.resource.resource} ${request.name ?? ''} behind ` +
          `this ${subResource} request is locked: ${why}`,
      };
    }
    if (parent.status === 'absent') return { kind: 'none' };
    if (subResource === 'eviction') return { kind: 'delete', locked: parent.object, eviction: true };
    if (binding)
      return {
        kind: 'update',
        locked: parent.object,
        oldObject: parent.object,
        newObject: boundPod(parent.object, request.object),
      };
    if (!request.oldObject || !request.object)
      return { kind: 'error', reason: 'scale UPDATE without object and oldObject' };
    return { kind: 'update', locked: parent.object, oldObject: request.oldObject, newObject: request.object };
  }
  if (operation === 'CREATE') return { kind: 'none' }; // write-once: creating is the one write
  if (!request.oldObject) {
    return {
      kind: 'error',
      reason: `${operation} request without oldObject: cannot tell whether the object is locked`,
    };
  }
  if (operation === 'DELETE') return { kind: 'delete', locked: request.oldObject };
  if (!request.object) return { kind: 'error', reason: 'UPDATE request without object' };
  return { kind: 'update', locked: request.oldObject, oldObject: request.oldObject, newObject: request.object };
}

function isSubset(
  candidate: readonly unknown[] | undefined,
  of: readonly unknown[] | undefined,
  key: (v: unknown) => string,
): boolean {
  const allowed = new Set((of ?? []).map(key));
  return (candidate ?? []).every((v) => allowed.has(key(v)));
}

/**
 * Changes that are legitimate system work on a locked object, removed before policy
 * paths are considered. Kept exact: a terminating object may lose finalizers and
 * nothing else; the garbage collector may drop owner references and nothing else; a
 * controller may make its own writes to what it derives or completes (controller-writes.ts).
 */
export function withoutSystemWork(
  changes: Change[],
  request: AdmissionRequest,
  oldObject: KubeObject,
  newObject: KubeObject,
): Change[] {
  let result = changes;
  const oldMeta = oldObject.metadata ?? {};
  const newMeta = newObject.metadata ?? {};
  if (oldMeta.deletionTimestamp && isSubset(newMeta.finalizers, oldMeta.finalizers, String)) {
    result = result.filter((c) => !isUnderPointer(c.path, '/metadata/finalizers'));
  }
  const uidOf = (ref: unknown) => String((ref as { uid?: unknown } | null)?.uid);
  if (
    request.userInfo.username !== undefined &&
    GARBAGE_COLLECTORS.has(request.userInfo.username) &&
    isSubset(newMeta.ownerReferences, oldMeta.ownerReferences, uidOf)
  ) {
    result = result.filter((c) => !isUnderPointer(c.path, '/metadata/ownerReferences'));
  }
  const controllers = controllerWrites(request, oldObject, newObject);
  if (controllers.length > 0) result = result.filter((c) => !controllers.some((p) => isUnderPointer(c.path, p)));
  return isPodBinding(request) ? withoutTopologyLabels(result) : result;
}

/** Who writes, and under which field manager (UpdateOptions, PatchOptions). */
function diffOptions(request: AdmissionRequest): DiffOptions {
  const fieldManager = (request.options as { fieldManager?: unknown } | null | undefined)?.fieldManager;
  return {
    username: request.userInfo.username,
    ...(typeof fieldManager === 'string' && fieldManager !== '' ? { fieldManager } : {}),
  };
}

function isExempt(policy: CompiledImmutabilityPolicy, request: AdmissionRequest): boolean {
  const user = request.userInfo;
  return (
    (user.username !== undefined && policy.exempt.users.has(user.username)) ||
    (user.groups ?? []).some((g) => policy.exempt.groups.has(g))
  );
}

function policyVerdict(
  policy: CompiledImmutabilityPolicy,
  request: AdmissionRequest,
  target: string,
  action: Action,
  changes: Change[],
  label: LockLabel,
): Verdict {
  const annotations = { 'immutability-policy': policy.name };
  if (action.kind === 'delete') {
    if (!policy.operations.has('DELETE')) return allow(RULE, 'skip');
    const hint = deletionHint(request, action.locked, action.eviction === true);
    const reason = `${target} is locked (labelled ${label.key}=${label.value}) and cannot be deleted${hint}`;
    return enforce(RULE, withPolicyMessage(reason, policy), policy.enforcement, annotations);
  }
  if (!policy.operations.has('UPDATE')) return allow(RULE, 'skip');
  // A policy's allowed paths never cover the lock label: lifting a lock takes an Unlabel unlock.
  const remaining = changes.filter(
    (c) => touchesLockLabel(c.path, label) || !policy.allowedPaths.some((p) => isUnderPointer(c.path, p)),
  );
  if (remaining.length === 0) return allow(RULE);
  const reason =
    `${target} is locked (labelled ${label.key}=${label.value}); ` +
    `this ${request.subResource ? `${request.subResource} ` : ''}update would ` +
    `change ${describeChanges(remaining, label)}`;
  return enforce(RULE, withPolicyMessage(reason, policy), policy.enforcement, annotations);
}

function withPolicyMessage(reason: string, policy: CompiledImmutabilityPolicy): string {
  return policy.message ? `${reason}. ${policy.message}` : reason;
}

function targetOf(request: AdmissionRequest, locked: KubeObject, facts: RequestFacts): MatchTarget {
  const apiVersion = locked.apiVersion;
  const group = apiVersion
    ? apiVersion.includes('/')
      ? apiVersion.slice(0, apiVersion.indexOf('/'))
      : ''
    : request.kind.group;
  // A Namespace is cluster-scoped, though its requests carry its own name as namespace.
  const isNamespace = group === '' && (locked.kind ?? request.kind.kind) === 'Namespace';
  const namespace = isNamespace ? undefined : (locked.metadata?.namespace ?? request.namespace);
  return {
    group,
    kind: locked.kind ?? request.kind.kind,
    ...(namespace ? { namespace } : {}),
    objectLabels: locked.metadata?.labels ?? {},
    namespaceLabels: facts.namespaceLabels,
  };
}

export function evaluateImmutability(
  request: AdmissionRequest,
  snapshot: PolicySnapshot,
  facts: RequestFacts,
): Verdict {
  const action = actionOf(request, facts);
  if (action.kind === 'none') return allow(RULE, 'skip');
  if (action.kind === 'error') return deny(RULE, action.reason);
  const label = snapshot.lockLabel;
  if (!isLocked(action.locked, label)) return allow(RULE, 'skip');
  if (action.kind === 'delete') {
    // Not a change but the object's lifecycle: judged before any policy, like the diff's system work.
    const lifecycle = lifecycleDeletion(request, action.locked, action.eviction === true);
    if (lifecycle)
      return {
        ...allow(RULE, 'lifecycle'),
        auditAnnotations: { 'immutability-lifecycle': `${describeTarget(request, action.locked)}: ${lifecycle}` },
      };
  }

  const matchTarget = targetOf(request, action.locked, facts);
  const policies = applicablePolicies(snapshot, matchTarget);
  const changes =
    action.kind === 'update'
      ? withoutSystemWork(
          semanticChanges(action.oldObject, action.newObject, diffOptions(request)),
          request,
          action.oldObject,
          action.newObject,
        )
      : [];
  const target = describeTarget(request, action.locked);
  const verdicts = policies.map((policy) =>
    isExempt(policy, request)
      ? {
          ...allow(RULE, 'exempt'),
          auditAnnotations: { 'immutability-exempt': `${policy.name}: ${request.userInfo.username ?? ''}` },
        }
      : byPolicy(policyVerdict(policy, request, target, action, changes, label), policy.name),
  );
  // Whoever a policy exempts: a looser policy would bind everyone else as well.
  const loosenings =
    action.kind === 'update' && isLocked(action.newObject, label)
      ? relabelLoosenings(snapshot, matchTarget, policies, action.oldObject, action.newObject)
      : [];
  if (loosenings.length > 0) {
    verdicts.push(
      deny(
        RULE,
        `${target} is locked (labelled ${label.key}=${label.value}); this update would change its labels so ` +
          `that its protection loosens (${loosenings.join('; ')})`,
        { 'immutability-relabel-loosening': loosenings.join('; ') },
      ),
    );
  }
  const verdict = combine(verdicts);
  return verdict.allowed
    ? verdict
    : withUnlock(
        verdict,
        action,
        policies,
        unlocksAimedAt(matchTarget, action.locked, facts),
        facts,
        target,
        snapshot,
        request.userInfo,
      );
}

/** The UnlockRequests whose target is exactly this object (group, kind, namespace, name). */
function unlocksAimedAt(t: MatchTarget, locked: KubeObject, facts: RequestFacts) {
  const name = locked.metadata?.name;
  return (facts.unlocks ?? []).filter(
    (u) =>
      u.target.group === t.group &&
      u.target.kind === t.kind &&
      u.target.namespace === t.namespace &&
      u.target.name === name,
  );
}

/** The update removes the lock label or changes its value (the object would no longer be locked). */
function unlabels(action: Action, label: LockLabel): boolean {
  return action.kind === 'update' && isLocked(action.oldObject, label) && !isLocked(action.newObject, label);
}

/** Whether the update changes anything besides the lock label. */
function changesBesidesLabel(action: Action & { kind: 'update' }, label: LockLabel): boolean {
  const withoutLabel = (o: KubeObject): KubeObject => {
    const copy = cloneJson(o);
    if (copy.metadata?.labels) delete copy.metadata.labels[label.key];
    return copy;
  };
  return semanticChanges(withoutLabel(action.oldObject), withoutLabel(action.newObject)).length > 0;
}

/**
 * A denial stands unless an approved, unexpired UnlockRequest lifts it for this exact
 * request, re-checked against the policies in force now (their approval count, maximum
 * duration and approver groups). Lifting the lock itself needs an Unlabel unlock.
 */
function withUnlock(
  denied: Verdict,
  action: Action & { kind: 'update' | 'delete' },
  policies: readonly CompiledImmutabilityPolicy[],
  unlocks: readonly CompiledUnlock[],
  facts: RequestFacts,
  target: string,
  snapshot: PolicySnapshot,
  user: AdmissionRequest['userInfo'],
): Verdict {
  if (unlocks.length === 0 || facts.now === undefined) return denied;
  const label = snapshot.lockLabel;
  const unlabelled = unlabels(action, label);
  const match = findUnlock(unlocks, {
    operation: action.kind === 'update' ? 'UPDATE' : 'DELETE',
    rules: policies.map(ruleOfPolicy),
    now: facts.now,
    user,
    keys: snapshot.attestation,
    ...(action.kind === 'update' ? { oldObject: action.oldObject, newObject: action.newObject } : {}),
    ...(action.kind === 'update' && unlocks.some((u) => u.rollbackTo !== undefined)
      ? { sealedStates: sealedStatesOf(facts.seal, snapshot.attestation, action.locked.metadata?.uid) }
      : {}),
    ...(unlabelled && action.kind === 'update'
      ? { unlabels: true, changesContent: changesBesidesLabel(action, label) }
      : {}),
  });
  if (!match.ok) return { ...denied, reasons: denied.reasons.map((r) => `${r} (${match.why.join('; ')})`) };
  const { unlock, approvers } = match;
  const what = unlabelled
    ? 'update, which removes its lock label'
    : unlock.rollbackTo !== undefined
      ? `rollback to the sealed state ${unlock.rollbackTo}`
      : action.kind === 'update'
        ? 'update'
        : 'delete';
  const note =
    `${target} is locked, but ${unlockName(unlock)} (requested by ${unlock.requester}, ` +
    `approved by ${approvers.join(', ')}) allows ` +
    `this ${what} until ${new Date(unlock.expiresAtMs).toISOString()}${
      unlabelled ? `: ${target} is ` + `unlabelled by ${unlockName(unlock)} and no longer locked` : ''
    }`;
  return {
    allowed: true,
    reasons: [],
    warnings: [note, ...emergencyWarnings(match)],
    auditAnnotations: {
      ...denied.auditAnnotations,
      ...unlockAnnotations(match),
      ...(unlabelled ? { 'unlock-unlabelled': `unlabelled by ${unlockName(unlock)}` } : {}),
    },
    outcomes: [{ rule: RULE, decision: 'unlocked' }],
  };
}
