// Which unlock request a sign-off names. `localunlockrequest/NAME` (or `lur/NAME`) is the
// LocalUnlockRequest in the namespace of -n (else the context's); `unlockrequest/NAME` (or
// `ur/NAME`) the cluster-scoped one; a bare NAME is the LocalUnlockRequest of that namespace
// when there is one, else the UnlockRequest. A team that may read only its own namespace gets
// a 403 for the other kind, which is no reason to stop looking.

import { BaseError } from '../../errors.ts';
import { unlockPath, type UnlockKind } from '../../policy/crds.ts';
import { apiMessage, TIMEOUT_MS, type Session } from './session.ts';

const PREFIXES: Record<string, UnlockKind> = {
  localunlockrequest: 'LocalUnlockRequest',
  localunlockrequests: 'LocalUnlockRequest',
  localunlock: 'LocalUnlockRequest',
  lur: 'LocalUnlockRequest',
  unlockrequest: 'UnlockRequest',
  unlockrequests: 'UnlockRequest',
  unlock: 'UnlockRequest',
  ur: 'UnlockRequest',
};

export interface UnlockRef {
  kind: UnlockKind;
  name: string;
  path: string;
  /** As kubectl names it: `localunlockrequest/NAME -n NS` or `unlockrequest/NAME`. */
  display: string;
}

function refOf(session: Session, kind: UnlockKind, name: string): UnlockRef {
  const local = kind === 'LocalUnlockRequest';
  return {
    kind,
    name,
    path: unlockPath(kind, session.namespace, name),
    display: `${kind.toLowerCase()}/${name}${local ? ` -n ${session.namespace}` : ''}`,
  };
}

/** The unlock request `typed` names, read once to be sure it is there. */
export async function locateUnlock(session: Session, typed: string): Promise<UnlockRef> {
  const slash = typed.indexOf('/');
  const prefix =
    slash < 0
      ? undefined
      : typed
          .slice(0, slash)
          .toLowerCase()
          .replace(/\.bulwark\.dev$/, '');
  const name = slash < 0 ? typed : typed.slice(slash + 1);
  if (prefix !== undefined && !PREFIXES[prefix])
    throw new BaseError('CLI_USAGE', `${typed} is not an UnlockRequest or a LocalUnlockRequest`);
  const candidates = prefix
    ? [refOf(session, PREFIXES[prefix]!, name)]
    : [refOf(session, 'LocalUnlockRequest', name), refOf(session, 'UnlockRequest', name)];
  const refused: string[] = [];
  for (const ref of candidates) {
    const res = await session.client.call('GET', ref.path, { timeoutMs: TIMEOUT_MS });
    if (res.status === 200) return ref;
    refused.push(`${ref.display}: ${apiMessage(res)}`);
  }
  throw new BaseError('CLI_USAGE', `cannot read ${refused.join('; ')}`);
}
