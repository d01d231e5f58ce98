// The kubectl plugin's commands: lock and unlock request (sign-offs: sign-off.ts; status: status.ts).
// Each prints what it did in a sentence, and the API server's (Bulwark's) message when
// something is refused.

import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { BaseError } from '../../errors.ts';
import type { LockLabel } from '../../policy/compiled.ts';
import { POLICY_API_VERSION, unlockPath } from '../../policy/crds.ts';
import type { UnlockOperation } from '../../policy/compile-unlock.ts';
import { clusterPolicies, governingPolicies, lockMeaning } from './governing.ts';
import { apiMessage, TIMEOUT_MS, type Session } from './session.ts';
import { describeTarget, resolveTarget } from './target.ts';

export type Print = (line: string) => void;

function fail(message: string): never {
  throw new BaseError('CLI_USAGE', message);
}

/** Labels the object with `label`, the lock label Bulwark reads (see lock-label.ts). */
export async function lock(session: Session, typed: string, print: Print, label: LockLabel): Promise<void> {
  const target = await resolveTarget(session, typed);
  const patch = { metadata: { labels: { [label.key]: label.value } } };
  const res = await session.client.call('PATCH', target.path, {
    body: JSON.stringify(patch),
    contentType: 'application/merge-patch+json',
    timeoutMs: TIMEOUT_MS,
  });
  if (res.status !== 200) fail(`cannot lock ${describeTarget(target)}: ${apiMessage(res)}`);
  // Tell the truth: what the policies governing it now make of the label (Warn only warns).
  const store = await clusterPolicies(session, label);
  const policies = await governingPolicies(session, store, {
    group: target.resource.group,
    kind: target.resource.kind,
    ...(target.namespace ? { namespace: target.namespace } : {}),
    name: target.name,
  });
  print(`${describeTarget(target)} is locked (${label.key}=${label.value}): ${lockMeaning(policies)}`);
}

export interface UnlockRequestOptions {
  operations: string[];
  reason: string;
  duration: string;
  /** A JSON Patch, inline or `@file`. */
  patch?: string;
  /** A ticket or incident reference, copied into the audit trail. */
  ticket?: string;
  /** An emergency unlock, under the policies' unlock.emergency. */
  emergency?: boolean;
  /** A rollback to this earlier sealed state (content hash; see rollback.ts). */
  rollback?: string;
  /** A LocalUnlockRequest in the target's namespace (its team's), instead of a cluster-scoped UnlockRequest. */
  local?: boolean;
}

async function readPatch(text: string): Promise<unknown> {
  const raw = text.startsWith('@') ? await readFile(text.slice(1), 'utf8') : text;
  try {
    return JSON.parse(raw);
  } catch (err) {
    return fail(`--patch is not JSON: ${(err as Error).message}`);
  }
}

const OPERATIONS: Record<string, UnlockOperation> = { UPDATE: 'UPDATE', DELETE: 'DELETE', UNLABEL: 'Unlabel' };

/** `update,unlabel` as typed -> the operations as the CRD spells them. */
export function parseOperations(typed: readonly string[]): UnlockOperation[] {
  return typed.map(
    (o) =>
      OPERATIONS[o.trim().toUpperCase()] ??
      fail(`--operation ${JSON.stringify(o)} is not one of UPDATE, DELETE, Unlabel`),
  );
}

export async function requestUnlock(
  session: Session,
  typed: string,
  options: UnlockRequestOptions,
  print: Print,
): Promise<string> {
  const operations = parseOperations(options.operations);
  const target = await resolveTarget(session, typed);
  const me = await session.whoami();
  const name = `unlock-${target.name}-${randomBytes(3).toString('hex')}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .slice(0, 253);
  const kind = options.local ? 'LocalUnlockRequest' : 'UnlockRequest';
  if (options.local && !target.namespace)
    fail(`${describeTarget(target)} is cluster-scoped: only an UnlockRequest (without --local) can unlock it`);
  const body = {
    apiVersion: POLICY_API_VERSION,
    kind,
    metadata: { name, ...(options.local ? { namespace: target.namespace } : {}) },
    spec: {
      target: {
        apiVersion: target.apiVersion,
        kind: target.resource.kind,
        ...(target.namespace ? { namespace: target.namespace } : {}),
        name: target.name,
      },
      operations,
      reason: options.reason,
      duration: options.duration,
      requester: me.username,
      ...(options.patch ? { change: { patch: await readPatch(options.patch) } } : {}),
      ...(options.ticket ? { ticket: options.ticket } : {}),
      ...(options.emergency ? { emergency: true } : {}),
      ...(options.rollback ? { rollback: { hash: options.rollback } } : {}),
    },
  };
  const path = unlockPath(kind, target.namespace);
  const res = await session.client.call('POST', path, { body: JSON.stringify(body), timeoutMs: TIMEOUT_MS });
  if (res.status !== 201 && res.status !== 200) fail(`cannot request the unlock: ${apiMessage(res)}`);
  const inNamespace = options.local ? ` -n ${target.namespace}` : '';
  print(
    `${kind.toLowerCase()}/${name} created${options.local ? ` in namespace ${target.namespace}` : ''} ` +
      `for ${describeTarget(target)} (${body.spec.operations.join(', ')}, ${options.duration}); ask approvers ` +
      `to run: kubectl bulwark unlock approve ${name}${inNamespace}`,
  );
  return name;
}

export { status } from './status.ts';
