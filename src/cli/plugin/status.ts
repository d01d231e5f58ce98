// `kubectl bulwark status`: what is locked (in the namespace and cluster-wide, or with
// -A everywhere) and every UnlockRequest with its phase and "approvals N of M", counted
// as the webhook counts them: only approvals whose recorded groups satisfy the policies
// governing the target now (rules/unlock/approvals.ts), against the most approvals any
// of them asks. The phase is the UnlockRequest's status.phase when Bulwark wrote one
// (Pending, Approved, Active, Used, Expired, Rejected; controller/unlock-status.ts),
// otherwise computed from spec: rejected, expired, approved (enough approvals) or pending.
// What it allows, its ticket, an emergency unlock's reviews and an unreviewed one's
// violation come from the status too.
// Attestations are checked for presence and form only: the MAC needs Bulwark's key, so a forged
// approval can show here, and the webhook still refuses to count it.

import type { KubeObject } from '../../admission/types.ts';
import { MAC_NOT_CHECKED } from '../../attestation/approval.ts';
import { SEALS_PATH, type LockedBy, type SealSpec } from '../../attestation/seal.ts';
import { resourcePath } from '../../cluster/discovery.ts';
import type { LockLabel } from '../../policy/compiled.ts';
import { createPolicyCompiler } from '../../policy/compiler.ts';
import { unlockPath, type UnlockKind } from '../../policy/crds.ts';
import { approvalsRequired, countedApprovals, ruleOfPolicy, rulesForUnlock } from '../../rules/unlock/approvals.ts';
import { printDrift } from './drift.ts';
import { printLoops } from './loops.ts';
import { clusterPolicies, getObject, governingPolicies } from './governing.ts';
import type { Session } from './session.ts';

export type UnlockPhase = 'pending' | 'approved' | 'active' | 'used' | 'expired' | 'rejected';
const PHASES: readonly string[] = ['pending', 'approved', 'active', 'used', 'expired', 'rejected'];

/** What Bulwark wrote in an UnlockRequest's status (rules/unlock/phase.ts). */
interface WrittenStatus {
  phase?: string;
  allows?: string;
  message?: string;
  reviews?: string;
  reviewDeadline?: string;
  violation?: string;
}

export interface UnlockStatus {
  name: string;
  target: string;
  operations: string[];
  requester: string;
  phase: UnlockPhase;
  approvals: number;
  approvalsRequired: number;
  approvers: string[];
  expiresAt: string;
  ticket?: string;
  emergency: boolean;
  /** As Bulwark wrote them; absent until it has. */
  allows?: string;
  message?: string;
  /** An emergency unlock's reviews, "1/2", and their deadline. */
  reviews?: string;
  reviewDeadline?: string;
  violation?: string;
}

export interface StatusReport {
  lockLabel: string;
  scope: string;
  locked: LockedObject[];
  unlocks: UnlockStatus[];
}

export interface LockedObject {
  kind: string;
  namespace?: string;
  name: string;
  /** Who locked it, as its seal says (absent until the audit sealed it, or when seals are not readable). */
  lockedBy?: LockedBy;
}

/** Who locked what, by uid, from the seals (readable by admins; others see no attribution). */
async function lockers(session: Session): Promise<Map<string, LockedBy>> {
  const seals = (await getObject(session, SEALS_PATH).catch(() => undefined)) as
    | { items?: { spec?: SealSpec }[] }
    | undefined;
  const found = new Map<string, LockedBy>();
  for (const s of seals?.items ?? []) if (s.spec?.lockedBy) found.set(s.spec.target.uid, s.spec.lockedBy);
  return found;
}

async function lockedObjects(session: Session, allNamespaces: boolean, label: LockLabel): Promise<LockedObject[]> {
  const selector = encodeURIComponent(`${label.key}=${label.value}`);
  const resources = (await session.discovery.resources()).filter((r) => r.verbs.includes('list'));
  const by = await lockers(session);
  const lists = await Promise.all(
    resources.map(async (r) => {
      const namespace = r.namespaced && !allNamespaces ? session.namespace : undefined;
      const body = await getObject(session, `${resourcePath(r, namespace)}?labelSelector=${selector}`);
      return ((body?.items as KubeObject[] | undefined) ?? []).map((o) => ({
        kind: r.kind,
        ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
        name: o.metadata?.name ?? '',
        ...(o.metadata?.uid && by.has(o.metadata.uid) ? { lockedBy: by.get(o.metadata.uid)! } : {}),
      }));
    }),
  );
  const key = (o: { kind: string; namespace?: string; name: string }) => `${o.kind} ${o.namespace ?? ''}/${o.name}`;
  return lists.flat().sort((a, b) => key(a).localeCompare(key(b)));
}

export async function statusReport(
  session: Session,
  allNamespaces: boolean,
  label: LockLabel,
  nowMs: number,
): Promise<StatusReport> {
  const compiler = createPolicyCompiler();
  // Both kinds; a list the user may not read (a team with a namespaced RoleBinding) is empty.
  const [locked, store, unlockList, localList] = await Promise.all([
    lockedObjects(session, allNamespaces, label),
    clusterPolicies(session, label),
    getObject(session, unlockPath('UnlockRequest')),
    getObject(session, unlockPath('LocalUnlockRequest', allNamespaces ? undefined : session.namespace)),
  ]);
  const items = (list: KubeObject | undefined, kind: UnlockKind) =>
    ((list?.items as KubeObject[] | undefined) ?? []).map((o) => ({ ...o, kind }));
  const rawUnlocks = [...items(unlockList, 'UnlockRequest'), ...items(localList, 'LocalUnlockRequest')];
  const unlocks: UnlockStatus[] = [];
  for (const raw of rawUnlocks) {
    const compiled = compiler.unlock(raw);
    if (!compiled.ok) continue;
    const u = compiled.unlock;
    if (!allNamespaces && u.target.namespace !== undefined && u.target.namespace !== session.namespace) continue;
    const rules = rulesForUnlock(u, (await governingPolicies(session, store, u.target)).map(ruleOfPolicy));
    const approvals = countedApprovals(u, rules, MAC_NOT_CHECKED).approvers.length;
    const required = approvalsRequired(rules);
    const status = (raw as { status?: WrittenStatus }).status ?? {};
    const written = status.phase?.toLowerCase();
    const phase = (
      written && PHASES.includes(written)
        ? written
        : u.rejections.length > 0
          ? 'rejected'
          : nowMs >= u.expiresAtMs
            ? 'expired'
            : approvals >= required
              ? 'approved'
              : 'pending'
    ) as UnlockPhase;
    const { allows, message, reviews, reviewDeadline, violation } = status;
    unlocks.push({
      name: u.namespace ? `${u.kind.toLowerCase()}/${u.name} -n ${u.namespace}` : u.name,
      target: `${u.target.kind} ${u.target.namespace ? `${u.target.namespace}/` : ''}${u.target.name}`,
      operations: [...u.operations],
      requester: u.requester,
      phase,
      approvals,
      approvalsRequired: required,
      approvers: [...u.approvers],
      expiresAt: Number.isFinite(u.expiresAtMs) ? new Date(u.expiresAtMs).toISOString() : 'unknown',
      ...(u.ticket ? { ticket: u.ticket } : {}),
      emergency: u.emergency,
      ...(allows ? { allows } : {}),
      ...(message ? { message } : {}),
      ...(reviews ? { reviews } : {}),
      ...(reviewDeadline ? { reviewDeadline } : {}),
      ...(violation ? { violation } : {}),
    });
  }
  return {
    lockLabel: `${label.key}=${label.value}`,
    scope: allNamespaces ? 'all namespaces' : `namespace ${session.namespace} and cluster-wide`,
    locked,
    unlocks,
  };
}

const OPEN: ReadonlySet<UnlockPhase> = new Set(['pending', 'approved', 'active']);

/** One line: what, by whom, the phase, "approvals N of M", what it allows while open, reviews, a violation. */
export function describeUnlock(u: UnlockStatus): string {
  const ticket = u.ticket ? ` [ticket ${u.ticket}]` : '';
  const allows = u.allows && OPEN.has(u.phase) ? `; allows ${u.allows}` : '';
  const why = u.message && (u.phase === 'rejected' || u.phase === 'used') ? ` (${u.message})` : '';
  const reviews = u.reviews ? `; emergency, reviews ${u.reviews.replace('/', ' of ')} by ${u.reviewDeadline}` : '';
  const approved = u.approvers.length > 0 ? ` (approved by ${u.approvers.join(', ')})` : '';
  return (
    `${u.name}: ${u.target} [${u.operations.join(', ')}] by ${u.requester}${ticket}; ${u.phase}${why}, ` +
    `approvals ${u.approvals} of ${u.approvalsRequired}, expires ${u.expiresAt}${allows}${reviews}${approved}` +
    `${u.violation ? `; VIOLATION: ${u.violation}` : ''}`
  );
}

/** `, locked by alice at T`; for an unknown author, the client that set the label, as a hint. */
export function describeLocker(by: LockedBy | undefined): string {
  if (!by) return '';
  if (by.user !== 'unknown') return `, locked by ${by.user}${by.at ? ` at ${by.at}` : ''}`;
  return `, locked by unknown${by.fieldManager ? ` (label set by client ${by.fieldManager})` : ''}`;
}

export function describeStatus(r: StatusReport): string[] {
  const lines = [`Locked (${r.lockLabel}) in ${r.scope}:`];
  for (const o of r.locked)
    lines.push(`  ${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}${describeLocker(o.lockedBy)}`);
  if (r.locked.length === 0) lines.push('  (none)');
  lines.push('UnlockRequests:');
  for (const u of r.unlocks) lines.push(`  ${describeUnlock(u)}`);
  if (r.unlocks.length === 0) lines.push('  (none)');
  return lines;
}

/** The text report, one line at a time: `kubectl bulwark status` without -o. */
export async function status(
  session: Session,
  allNamespaces: boolean,
  print: (line: string) => void,
  label: LockLabel,
) {
  const now = Date.now();
  for (const line of describeStatus(await statusReport(session, allNamespaces, label, now))) print(line);
  await printDrift(session, allNamespaces, print);
  await printLoops(session, print, now);
}
