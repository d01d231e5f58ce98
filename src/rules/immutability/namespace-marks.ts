// Namespace marks (pure): how Bulwark keeps its fail-closed webhooks away from namespaces
// where it has nothing to decide. A leader-elected loop marks a namespace
// `bulwark.dev/locks: none` when it holds no locked object, and `bulwark.dev/images: none`
// when no ImagePolicy applies to it; the chart's subresources, guards and images entries
// skip marked namespaces (a namespaceSelector), so a drain, a scale or a Deployment there
// never waits for Bulwark. An unmarked namespace is always judged: a new namespace, one
// the loop has not seen yet, or one whose mark was removed.
//
// The mark must never be a window. Only Bulwark (and the policy admins) may set it (a
// ValidatingAdmissionPolicy, evaluated in the apiserver). And a lock can only appear in a
// marked namespace through a request Bulwark sees (the immutability entry takes every
// CREATE, and every UPDATE, of an object carrying the lock label): before allowing it,
// Bulwark removes the mark and stamps the namespace (`bulwark.dev/lock-admitted`, the
// minute); the loop marks only namespaces whose stamp is older than any request can live
// (CLAIM_QUIET_MS), with the namespace's resourceVersion as precondition, so a lock being
// admitted while the loop looks is never marked over.

import type { AdmissionRequest } from '../../admission/types.ts';
import type { RequestFacts } from '../../decision/facts.ts';
import { allow, deny, type Verdict } from '../../decision/verdict.ts';
import type { LockLabel, PolicySnapshot } from '../../policy/compiled.ts';

export const LOCKS_MARK = 'bulwark.dev/locks';
export const IMAGES_MARK = 'bulwark.dev/images';
/** The value of a mark: nothing of that kind to decide in this namespace. */
export const MARK_NONE = 'none';
export const LOCK_ADMITTED_ANNOTATION = 'bulwark.dev/lock-admitted';
/**
 * How long after a lock was admitted in a namespace the loop leaves it unmarked: longer
 * than an admitted request can take to be stored (the apiserver's request timeout, 60 s by
 * default, plus the minute the stamp is rounded to).
 */
export const CLAIM_QUIET_MS = 3 * 60_000;

export const RULE = 'namespace-claim';

/** The stamp for a lock admitted at `now`: the minute, so that repeated stamps change nothing. */
export function claimStamp(now: number): string {
  return new Date(Math.floor(now / 60_000) * 60_000).toISOString();
}

/**
 * Whether the request puts a lock into a namespace: a namespaced object created with the
 * lock label, or updated to carry it. (A Namespace's own lock is judged on the Namespace.)
 */
export function addsLock(request: AdmissionRequest, label: LockLabel): boolean {
  if (!request.namespace || request.subResource !== undefined) return false;
  if (request.kind.group === '' && request.kind.kind === 'Namespace') return false;
  const locked = (o: typeof request.object) => o?.metadata?.labels?.[label.key] === label.value;
  if (request.operation === 'CREATE') return locked(request.object);
  return request.operation === 'UPDATE' && locked(request.object) && !locked(request.oldObject);
}

/** Denies a lock whose namespace could not be claimed: the mark could keep its guards away. */
export function evaluateNamespaceClaim(
  request: AdmissionRequest,
  snapshot: PolicySnapshot,
  facts: RequestFacts,
): Verdict {
  const claim = facts.namespaceClaim;
  if (!claim || claim.status === 'claimed' || !addsLock(request, snapshot.lockLabel)) return allow(RULE, 'skip');
  return deny(
    RULE,
    `cannot record that namespace ${request.namespace} now holds an object labelled ` +
      `${snapshot.lockLabel.key}=${snapshot.lockLabel.value} (removing its ${LOCKS_MARK} mark), so the lock is ` +
      `not admitted (fail closed): ${claim.reason}`,
  );
}

export interface NamespaceState {
  name: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  terminating: boolean;
}

/** The marks a namespace should carry; undefined means: leave it as it is. */
export function desiredMarks(
  ns: NamespaceState,
  context: { holdsLocks: boolean; listingComplete: boolean; snapshot: PolicySnapshot; now: number },
): { locks: boolean; images: boolean } | undefined {
  if (ns.terminating) return undefined;
  const stamp = Date.parse(ns.annotations[LOCK_ADMITTED_ANNOTATION] ?? '');
  const quiet = !Number.isFinite(stamp) || stamp + CLAIM_QUIET_MS < context.now;
  const hadMark = ns.labels[LOCKS_MARK] === MARK_NONE;
  // A mark is only ever added from a complete listing; removing one is always safe.
  const locks = !context.holdsLocks && quiet && (context.listingComplete || hadMark);
  const images = !context.snapshot.images.some((p) => p.matchNamespace(ns.name, ns.labels) !== 'no-match');
  return { locks, images };
}
