// `kubectl bulwark why -f FILE`: a server-side dry-run apply of each object, so the real
// apiserver and the real webhook answer, and nothing changes. It says what really
// happens: a 409 Conflict (a stale resourceVersion in the manifest) is not a denial;
// Warn-policy warnings are shown; an allow that only an active UnlockRequest grants says
// so, naming the request.

import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { resourcePath } from '../../cluster/discovery.ts';
import { BaseError } from '../../errors.ts';
import { apiMessage, TIMEOUT_MS, type Session } from './session.ts';

export type WhyOutcome = 'allowed' | 'allowed-by-unlock' | 'denied' | 'conflict' | 'failed';

export interface WhyResult {
  object: string;
  outcome: WhyOutcome;
  /** The API server's (Bulwark's) message when not allowed. */
  message?: string;
  warnings: string[];
  /** For allowed-by-unlock: the UnlockRequest that lifts the lock for this change. */
  unlockRequest?: string;
  /** Offline (--snapshot), for a denied change of a locked object: the command that asks for the unlock. */
  unlockCommand?: string;
  /** Set when that is a LocalUnlockRequest (then unlockRequest is NAMESPACE/NAME). */
  unlockKind?: 'LocalUnlockRequest';
}

/** Bulwark's note on an allow an UnlockRequest grants (rules/immutability/evaluate.ts). */
const UNLOCK_NOTE = /is locked, but (Local)?UnlockRequest (\S+) \(requested by /;

async function readManifests(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function outcomeOf(
  status: number,
  warnings: readonly string[],
): Pick<WhyResult, 'outcome' | 'unlockRequest' | 'unlockKind'> {
  if (status === 200 || status === 201) {
    const note = warnings.map((w) => UNLOCK_NOTE.exec(w)).find((m) => m !== null);
    if (!note) return { outcome: 'allowed' };
    return {
      outcome: 'allowed-by-unlock',
      unlockRequest: note[2]!,
      ...(note[1] ? { unlockKind: 'LocalUnlockRequest' as const } : {}),
    };
  }
  if (status === 409) return { outcome: 'conflict' };
  return { outcome: status === 403 || status === 500 || status === 503 ? 'denied' : 'failed' };
}

export async function why(session: Session, file: string): Promise<WhyResult[]> {
  const results: WhyResult[] = [];
  for (const doc of parseAllDocuments(await readManifests(file))) {
    const object = doc.toJS() as {
      apiVersion?: string;
      kind?: string;
      metadata?: { name?: string; namespace?: string };
    } | null;
    if (!object?.kind || !object.apiVersion || !object.metadata?.name) continue;
    const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0]! : '';
    const resource = await session.discovery.find(group, object.kind);
    if (!resource) throw new BaseError('CLI_USAGE', `the server has no ${object.kind} in ${object.apiVersion}`);
    const namespace = resource.namespaced ? (object.metadata.namespace ?? session.namespace) : undefined;
    const path =
      `${resourcePath(resource, namespace, object.metadata.name)}?dryRun=All&f` +
      `ieldManager=kubectl-bulwark-why&force=true`;
    const res = await session.client.call('PATCH', path, {
      body: JSON.stringify(object),
      contentType: 'application/apply-patch+yaml',
      timeoutMs: TIMEOUT_MS,
    });
    const warnings = res.warnings ?? [];
    const outcome = outcomeOf(res.status, warnings);
    results.push({
      object: `${object.kind} ${namespace ? `${namespace}/` : ''}${object.metadata.name}`,
      ...outcome,
      ...(outcome.outcome === 'allowed' || outcome.outcome === 'allowed-by-unlock' ? {} : { message: apiMessage(res) }),
      warnings,
    });
  }
  return results;
}

/** One or two lines a result, for people. */
export function describeWhy(r: WhyResult): string[] {
  const head = {
    allowed: `${r.object}: this change would be allowed`,
    'allowed-by-unlock':
      `${r.object}: this change would be allowed only because ${r.unlockKind ?? 'UnlockRequest'} ` +
      `${r.unlockRequest} is active ` +
      '(the object is locked; without the unlock it would be denied)',
    denied: `${r.object}: this change would be denied: ${r.message}`,
    conflict:
      `${r.object}: conflict, not a denial: ${r.message} (the manifest carries a resourceVersion that is no ` +
      'longer current: drop metadata.resourceVersion or apply the latest version)',
    failed: `${r.object}: the API server refused the dry run (not Bulwark): ${r.message}`,
  }[r.outcome];
  const shown = r.outcome === 'allowed-by-unlock' ? r.warnings.filter((w) => !UNLOCK_NOTE.test(w)) : r.warnings;
  const unlock = r.unlockCommand ? [`  to ask for the unlock: ${r.unlockCommand}`] : [];
  return [head, ...shown.map((w) => `  warning: ${w}`), ...unlock];
}
