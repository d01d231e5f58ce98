// `kubectl bulwark unlock approve|reject NAME`: appends an approval or a rejection to an
// UnlockRequest in the user's own name, with the groups the API server reports for them
// (Bulwark checks both). A PUT with the resourceVersion read makes a concurrent sign-off
// fail cleanly instead of losing one.

import { BaseError } from '../../errors.ts';
import { SIGN_OFF_LISTS as LIST, SIGN_OFF_VERBS as VERB, type SignOffKind } from '../../rules/unlock/sign-off.ts';
import { UNLOCKS_PATH, type Print } from './commands.ts';
import { apiMessage, TIMEOUT_MS, type Session } from './session.ts';

export async function signOffUnlock(
  session: Session,
  name: string,
  kind: SignOffKind,
  comment: string | undefined,
  print: Print,
): Promise<void> {
  const me = await session.whoami();
  const path = `${UNLOCKS_PATH}/${encodeURIComponent(name)}`;
  const entry = {
    user: me.username,
    groups: me.groups,
    time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    ...(comment ? { comment } : {}),
  };
  // Bulwark's status writes change the resourceVersion too: on a conflict, read again and retry.
  for (let attempt = 1; ; attempt++) {
    const current = await session.client.call('GET', path, { timeoutMs: TIMEOUT_MS });
    if (current.status !== 200)
      throw new BaseError('CLI_USAGE', `cannot read unlockrequest/${name}: ${apiMessage(current)}`);
    const object = current.body as { spec: Record<string, unknown[] | undefined> };
    object.spec[LIST[kind]] = [...(object.spec[LIST[kind]] ?? []), entry];
    const res = await session.client.call('PUT', path, { body: JSON.stringify(object), timeoutMs: TIMEOUT_MS });
    if (res.status === 200) break;
    if (res.status !== 409 || attempt >= 5)
      throw new BaseError('CLI_USAGE', `cannot ${VERB[kind]} unlockrequest/${name}: ${apiMessage(res)}`);
  }
  print(`unlockrequest/${name} ${VERB[kind]}${VERB[kind].endsWith('e') ? 'd' : 'ed'} by ${me.username}`);
}
