// `kubectl bulwark rollback KIND/NAME`: the states Bulwark sealed for a locked object (its
// Seal: current and history, with when, why, the UnlockRequest and approvers), and, given the
// content of one of them (-f FILE), an UnlockRequest bound to that rollback, which needs the
// policies' unlock.rollbackApprovals. The ledger keeps hashes only, so the content comes from
// the user (the object as it was stored: a GitOps repository, a backup, `kubectl get -o yaml`
// saved earlier); a file that does not hash to a sealed state is refused here, before anyone
// is asked to approve.

import type { KubeObject } from '../../admission/types.ts';
import { contentHash, SEALS_PATH, type SealedState, type SealSpec } from '../../attestation/seal.ts';
import { BaseError } from '../../errors.ts';
import { readYamlFile } from '../read-yaml.ts';
import { requestUnlock, type Print } from './commands.ts';
import { apiMessage, TIMEOUT_MS, type Session } from './session.ts';
import { describeTarget, resolveTarget, type ResolvedTarget } from './target.ts';

export interface RollbackOptions {
  filename?: string;
  reason?: string;
  duration: string;
  /** A LocalUnlockRequest in the target's namespace (a team without cluster-wide rights), not an UnlockRequest. */
  local?: boolean;
}

function fail(message: string): never {
  throw new BaseError('CLI_USAGE', message);
}

async function sealOf(session: Session, target: ResolvedTarget): Promise<SealSpec> {
  const object = await session.client.call('GET', target.path, { timeoutMs: TIMEOUT_MS });
  if (object.status !== 200) fail(`cannot read ${describeTarget(target)}: ${apiMessage(object)}`);
  const uid = (object.body as KubeObject).metadata?.uid ?? '';
  const seal = await session.client.call('GET', `${SEALS_PATH}/${encodeURIComponent(uid)}`, { timeoutMs: TIMEOUT_MS });
  if (seal.status === 404)
    fail(`${describeTarget(target)} has no Seal: it is not locked, or the audit has not run yet`);
  if (seal.status !== 200) fail(`cannot read the Seal of ${describeTarget(target)}: ${apiMessage(seal)}`);
  return (seal.body as { spec: SealSpec }).spec;
}

function describeState(s: SealedState): string {
  // Seals before `unlock` named only an UnlockRequest.
  const u = s.unlock;
  const request = u
    ? `${u.kind} ${u.namespace ? `${u.namespace}/` : ''}${u.name}`
    : `UnlockRequest ${s.unlockRequest ?? '?'}`;
  const how = s.reason === 'locked' ? 'locked' : `${s.reason} by ${request}`;
  const who = s.approvers?.length ? `, approved by ${s.approvers.join(', ')}` : '';
  const changed = s.changedBy ? `, changed by ${s.changedBy.user}` : '';
  return `${s.hash}  ${s.at}  ${how}${who}${changed}`;
}

/** The object in FILE as the API server will see it in this target's place (namespace and name filled in). */
async function fileObject(file: string, target: ResolvedTarget): Promise<KubeObject> {
  const docs = await readYamlFile(file);
  if (docs.length !== 1) fail(`${file}: expected one object, found ${docs.length}`);
  const object = docs[0] as KubeObject;
  if (object.kind !== target.resource.kind || object.metadata?.name !== target.name)
    fail(`${file} holds ${object.kind ?? '?'} ${object.metadata?.name ?? '?'}, not ${describeTarget(target)}`);
  const metadata = { ...object.metadata, ...(target.namespace ? { namespace: target.namespace } : {}) };
  return { ...object, apiVersion: target.apiVersion, metadata };
}

export async function rollback(session: Session, typed: string, options: RollbackOptions, print: Print) {
  const target = await resolveTarget(session, typed);
  const seal = await sealOf(session, target);
  const earlier = seal.history ?? [];
  if (!options.filename) {
    print(`Sealed states of ${describeTarget(target)} (newest first):`);
    print(`  current  ${describeState(seal.current)}`);
    for (const [i, s] of earlier.entries()) print(`  -${i + 1}       ${describeState(s)}`);
    if (earlier.length === 0) print('  (no earlier state to roll back to)');
    else print(`Roll back: kubectl bulwark rollback ${typed} -f FILE --reason ... (FILE: the object in that state)`);
    return;
  }
  const object = await fileObject(options.filename, target);
  const hash = contentHash(object);
  const state = [seal.current, ...earlier].find((s) => s.hash === hash);
  if (!state)
    fail(
      `${options.filename} hashes to ${hash}, which is not a state Bulwark sealed for ${describeTarget(target)}; ` +
        'it must be the object as the API server stored it then (defaults included, status and bookkeeping ' +
        `aside): see kubectl bulwark rollback ${typed}`,
    );
  if (state === seal.current) fail(`${describeTarget(target)} is sealed in that state now: nothing to roll back`);
  if (!options.reason) fail('--reason is required to request a rollback');
  const name = await requestUnlock(
    session,
    typed,
    {
      operations: ['UPDATE'],
      reason: options.reason,
      duration: options.duration,
      rollback: hash,
      ...(options.local ? { local: true } : {}),
    },
    print,
  );
  const kind = options.local ? 'LocalUnlockRequest' : 'UnlockRequest';
  print(
    `once approved, roll back with: kubectl replace -f ${options.filename} (to ${hash}, sealed ${state.at}; ` +
      `${kind} ${name} unlocks only that state)`,
  );
  return name;
}
