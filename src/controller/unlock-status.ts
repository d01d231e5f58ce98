// The UnlockRequest status loop: while this replica leads, every few seconds it lists the
// unlock requests of both kinds (UnlockRequest, LocalUnlockRequest), reads each open one's
// target, works out the phase (rules/unlock/phase.ts, pure) against the policies in force
// now, writes status when it changed, and on every phase transition records an Event on the
// request and on its target (and tells `onTransition`, for outgoing notifications).
// Admission never reads this status: it is for people. Observing the target here, not in
// admission, keeps admission free of side effects: a dry-run or a change denied by another
// webhook never moves a request to Active or Used.

import type { KubeClient } from '../cluster/kube-client.ts';
import type { Discovery } from '../cluster/discovery.ts';
import { readUnlockTarget } from '../cluster/facts.ts';
import type { Logger } from '../observability/logger.ts';
import type { PolicySnapshot } from '../policy/compiled.ts';
import type { PolicyCompiler } from '../policy/compiler.ts';
import { POLICY_API_VERSION, UNLOCK_KINDS, unlockPath, type UnlockKind } from '../policy/crds.ts';
import { unlockName, type CompiledUnlock } from '../policy/compile-unlock.ts';
import { approvalRulesFor } from '../rules/unlock/approval-rules.ts';
import { TERMINAL, unlockStatus, type UnlockPhase, type UnlockStatus } from '../rules/unlock/phase.ts';
import type { EventNote, RecordEvent } from './events.ts';

const TIMEOUT_MS = 10_000;

interface StoredUnlock {
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; generation?: number };
  spec?: { target?: { apiVersion?: string; kind?: string; namespace?: string; name?: string } };
  status?: Partial<UnlockStatus> & { observedGeneration?: number };
}

export interface Transition {
  unlock: CompiledUnlock;
  uid: string | undefined;
  /** spec.target.apiVersion as written (the compiled target keeps only the group). */
  targetApiVersion: string;
  from: string | undefined;
  status: UnlockStatus;
}

export interface UnlockStatusLoop {
  /** One pass over every UnlockRequest (tests call it directly). */
  tick(): Promise<void>;
  start(intervalMs: number): void;
  stop(): void;
}

const WARNING_PHASES: ReadonlySet<UnlockPhase> = new Set(['Active', 'Used', 'Rejected']);

export function unlockStatusLoop(options: {
  client: KubeClient;
  discovery: Discovery;
  compiler: PolicyCompiler;
  snapshot: () => PolicySnapshot;
  namespaceLabels: (namespace: string) => Readonly<Record<string, string>> | undefined;
  isLeader: () => boolean;
  recordEvent: RecordEvent;
  logger: Logger;
  /** Each announced transition, with the Event it was recorded as (outgoing notifications). */
  onTransition?: (t: Transition, event: Omit<EventNote, 'involved'>) => void;
  now?: () => number;
}): UnlockStatusLoop {
  const { client, discovery, compiler, logger } = options;
  const now = options.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;

  async function announce(t: Transition, override?: { reason: string; message: string }): Promise<void> {
    const { unlock, status } = t;
    const loud = WARNING_PHASES.has(status.phase) || unlock.emergency || override !== undefined;
    const type = loud ? 'Warning' : 'Normal';
    const reason = override?.reason ?? `Unlock${unlock.emergency ? 'Emergency' : ''}${status.phase}`;
    const ticket = unlock.ticket ? ` [ticket ${unlock.ticket}]` : '';
    const message =
      `${unlock.emergency ? 'EMERGENCY ' : ''}${unlockName(unlock)} by ${unlock.requester} is ` +
      `${status.phase}: ${override?.message ?? status.message}${ticket}`;
    const requestRef = {
      apiVersion: POLICY_API_VERSION,
      kind: unlock.kind,
      name: unlock.name,
      ...(unlock.namespace ? { namespace: unlock.namespace } : {}),
    };
    await options.recordEvent({ involved: { ...requestRef, ...(t.uid ? { uid: t.uid } : {}) }, type, reason, message });
    const target = unlock.target;
    await options.recordEvent({
      involved: {
        apiVersion: t.targetApiVersion,
        kind: target.kind,
        name: target.name,
        ...(target.namespace ? { namespace: target.namespace } : {}),
      },
      type,
      reason,
      message,
    });
    options.onTransition?.(t, { type, reason, message });
  }

  async function reconcile(kind: UnlockKind, item: StoredUnlock): Promise<void> {
    const previous = item.status;
    // Terminal phases change no more, but an emergency unlock is watched until it is reviewed.
    if (previous?.phase && TERMINAL.has(previous.phase) && previous.reviewed !== false) return;
    const compiled = compiler.unlock({ ...item, kind });
    if (!compiled.ok) return;
    const unlock = compiled.unlock;
    const fact = await readUnlockTarget(client, discovery, item.spec?.target, TIMEOUT_MS);
    if (fact.status === 'unavailable') {
      logger.warn({ unlock: unlockName(unlock), reason: fact.reason }, 'cannot read the target of an unlock request');
      return;
    }
    const object = fact.status === 'found' ? fact.object : undefined;
    const namespaceLabels = unlock.target.namespace ? options.namespaceLabels(unlock.target.namespace) : undefined;
    const snapshot = options.snapshot();
    const rules = approvalRulesFor(snapshot, unlock.target, object, namespaceLabels);
    const status = unlockStatus({
      unlock,
      rules,
      keys: snapshot.attestation,
      now: now(),
      target: object,
      ...(previous ? { previous } : {}),
    });
    const { observedGeneration: _, ...before } = previous ?? {};
    if (JSON.stringify(before) === JSON.stringify({ ...before, ...status })) return;
    const path = `${unlockPath(kind, unlock.namespace, unlock.name)}/status`;
    await client.mergePatch(
      path,
      { status: { ...status, observedGeneration: item.metadata?.generation } },
      { timeoutMs: TIMEOUT_MS },
    );
    const targetApiVersion = item.spec?.target?.apiVersion ?? 'v1';
    const transition = { unlock, uid: item.metadata?.uid, targetApiVersion, from: previous?.phase, status };
    if (previous?.phase !== status.phase) {
      logger.info(
        { unlock: unlockName(unlock), from: previous?.phase, to: status.phase },
        'unlock request phase changed',
      );
      await announce(transition);
    }
    if (status.violation && !previous?.violation) {
      logger.warn({ unlock: unlockName(unlock), violation: status.violation }, 'unreviewed emergency unlock');
      await announce(transition, { reason: 'UnlockUnreviewed', message: status.violation });
    }
  }

  const loop: UnlockStatusLoop = {
    async tick() {
      if (!options.isLeader()) return;
      // Both kinds, one code path; a LocalUnlockRequest list spans every namespace.
      for (const kind of Object.keys(UNLOCK_KINDS) as UnlockKind[]) {
        const list = (await client.getJson(unlockPath(kind), { timeoutMs: TIMEOUT_MS })) as
          | { items?: StoredUnlock[] }
          | undefined;
        for (const item of list?.items ?? []) {
          try {
            await reconcile(kind, item);
          } catch (err) {
            logger.warn(
              { kind, unlock: item.metadata?.name, namespace: item.metadata?.namespace, err: (err as Error).message },
              'could not update unlock request status',
            );
          }
        }
      }
    },
    start(intervalMs) {
      const run = () => {
        loop
          .tick()
          .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'UnlockRequest status pass failed'))
          .finally(() => {
            if (timer !== undefined) timer = setTimeout(run, intervalMs);
          });
      };
      timer = setTimeout(run, 0);
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
  return loop;
}
