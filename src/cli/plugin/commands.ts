// The kubectl plugin's commands: lock, unlock request, unlock approve, status, why.
// Each prints what it did in a sentence, and the API server's (Bulwark's) message when
// something is refused.

import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { resourcePath } from '../../cluster/discovery.ts';
import { BaseError } from '../../errors.ts';
import type { LockLabel } from '../../policy/compiled.ts';
import { BULWARK_KINDS, POLICY_API_VERSION } from '../../policy/crds.ts';
import type { CompiledUnlock, UnlockOperation } from '../../policy/compile-unlock.ts';
import { createPolicyCompiler } from '../../policy/compiler.ts';
import { apiMessage, TIMEOUT_MS, type Session } from './session.ts';
import { describeTarget, resolveTarget } from './target.ts';

export type Print = (line: string) => void;

export const UNLOCKS_PATH = `/apis/${POLICY_API_VERSION}/${BULWARK_KINDS.UnlockRequest.plural}`;

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
  print(
    `${describeTarget(target)} is locked (${label.key}=${label.value}): it can no longer be changed or deleted ` +
      `without an approved UnlockRequest`,
  );
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
  const body = {
    apiVersion: POLICY_API_VERSION,
    kind: 'UnlockRequest',
    metadata: { name },
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
    },
  };
  const res = await session.client.call('POST', UNLOCKS_PATH, { body: JSON.stringify(body), timeoutMs: TIMEOUT_MS });
  if (res.status !== 201 && res.status !== 200) fail(`cannot request the unlock: ${apiMessage(res)}`);
  print(
    `unlockrequest/${name} created ` +
      `for ${describeTarget(target)} (${body.spec.operations.join(', ')}, ${options.duration}); ask approvers ` +
      `to run: kubectl bulwark unlock approve ${name}`,
  );
  return name;
}

interface UnlockStatusView {
  phase?: string;
  approvalsCounted?: number;
  approvalsRequired?: number;
  expiresAt?: string;
  allows?: string;
  message?: string;
  reviews?: string;
  violation?: string;
}

/** The phase, "approvals 1 of 2" and what it allows, as Bulwark wrote them in status. */
function state(u: CompiledUnlock, s: UnlockStatusView | undefined, now: number): string {
  const expires = s?.expiresAt ?? new Date(u.expiresAtMs).toISOString();
  if (!s?.phase) {
    const left = now >= u.expiresAtMs ? 'expired' : `expires ${expires}`;
    return `phase unknown (Bulwark has not written its status yet); ${u.approvers.length} approval(s), ${left}`;
  }
  const allows = s.phase === 'Pending' || s.phase === 'Approved' || s.phase === 'Active' ? `; allows ${s.allows}` : '';
  return (
    `${s.phase}, approvals ${s.approvalsCounted} of ${s.approvalsRequired}, expires ${expires}${allows}` +
    `${s.phase === 'Rejected' || s.phase === 'Used' ? ` (${s.message})` : ''}` +
    `${s.reviews ? `; emergency, reviews ${s.reviews.replace('/', ' of ')}` : ''}` +
    `${s.violation ? `; VIOLATION: ${s.violation}` : ''}`
  );
}

export async function status(session: Session, allNamespaces: boolean, print: Print, label: LockLabel): Promise<void> {
  const selector = encodeURIComponent(`${label.key}=${label.value}`);
  const resources = (await session.discovery.resources()).filter((r) => r.verbs.includes('list'));
  const locked: string[] = [];
  await Promise.all(
    resources.map(async (r) => {
      const namespace = r.namespaced && !allNamespaces ? session.namespace : undefined;
      const res = await session.client.call('GET', `${resourcePath(r, namespace)}?labelSelector=${selector}`, {
        timeoutMs: TIMEOUT_MS,
      });
      if (res.status !== 200) return;
      for (const o of (res.body as { items?: { metadata?: { name?: string; namespace?: string } }[] }).items ?? []) {
        locked.push(`${r.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? ''}`);
      }
    }),
  );
  const where = allNamespaces ? '' : ` in namespace ${session.namespace} and cluster-wide`;
  print(`Locked (${label.key}=${label.value})${where}:`);
  for (const line of locked.sort()) print(`  ${line}`);
  if (locked.length === 0) print('  (none)');
  const res = await session.client.call('GET', UNLOCKS_PATH, { timeoutMs: TIMEOUT_MS });
  const now = Date.now();
  const compiler = createPolicyCompiler();
  const unlocks =
    res.status === 200
      ? ((res.body as { items?: { status?: UnlockStatusView }[] }).items ?? []).flatMap((o) => {
          const c = compiler.unlock(o);
          return c.ok ? [{ u: c.unlock, status: o.status }] : [];
        })
      : [];
  print('UnlockRequests:');
  for (const { u, status } of unlocks) {
    const target = `${u.target.kind} ${u.target.namespace ? `${u.target.namespace}/` : ''}${u.target.name}`;
    const approved = u.approvers.length ? ` (approved by ${u.approvers.join(', ')})` : '';
    const ticket = u.ticket ? ` [ticket ${u.ticket}]` : '';
    print(
      `  ${u.name}: ${target} [${[...u.operations].join(', ')}] by ${u.requester}${ticket}; ` +
        `${state(u, status, now)}${approved}`,
    );
  }
  if (unlocks.length === 0) print('  (none)');
}

/** Server-side dry-run apply of each object in a file: what Bulwark would say, without changing anything. */
export async function why(session: Session, file: string, print: Print): Promise<boolean> {
  const text =
    file === '-'
      ? await new Promise<string>((resolve) => {
          const chunks: Buffer[] = [];
          process.stdin
            .on('data', (c: Buffer) => chunks.push(c))
            .on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        })
      : await readFile(file, 'utf8');
  let allAllowed = true;
  for (const doc of parseAllDocuments(text)) {
    const object = doc.toJS() as {
      apiVersion?: string;
      kind?: string;
      metadata?: { name?: string; namespace?: string };
    } | null;
    if (!object?.kind || !object.apiVersion || !object.metadata?.name) continue;
    const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0]! : '';
    const resource = await session.discovery.find(group, object.kind);
    if (!resource) fail(`the server has no ${object.kind} in ${object.apiVersion}`);
    const namespace = resource.namespaced ? (object.metadata.namespace ?? session.namespace) : undefined;
    const path =
      `${resourcePath(resource, namespace, object.metadata.name)}?dryRun=All&f` +
      `ieldManager=kubectl-bulwark-why&force=true`;
    const res = await session.client.call('PATCH', path, {
      body: JSON.stringify(object),
      contentType: 'application/apply-patch+yaml',
      timeoutMs: TIMEOUT_MS,
    });
    const what = `${object.kind} ${namespace ? `${namespace}/` : ''}${object.metadata.name}`;
    if (res.status === 200 || res.status === 201) print(`${what}: this change would be allowed`);
    else {
      allAllowed = false;
      print(`${what}: this change would be denied: ${apiMessage(res)}`);
    }
  }
  return allAllowed;
}
