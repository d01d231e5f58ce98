// `kubectl bulwark unlock approve|reject|review NAME`: appends an approval, a rejection or a
// review to an UnlockRequest or a LocalUnlockRequest (unlock-ref.ts) in the user's own name,
// with the groups the API server reports for them (Bulwark checks both). A PUT with the
// resourceVersion read makes a concurrent sign-off fail cleanly instead of losing one.

import { BaseError } from '../../errors.ts';
import { SIGN_OFF_LISTS as LIST, SIGN_OFF_VERBS as VERB, type SignOffKind } from '../../rules/unlock/sign-off.ts';
import type { Print } from './commands.ts';
import { apiMessage, TIMEOUT_MS, type Session } from './session.ts';
import { locateUnlock } from './unlock-ref.ts';

export async function signOffUnlock(
  session: Session,
  name: string,
  kind: SignOffKind,
  comment: string | undefined,
  print: Print,
): Promise<void> {
  const [me, ref] = await Promise.all([session.whoami(), locateUnlock(session, name)]);
  const { path, display } = ref;
  const entry = {
    user: me.username,
    groups: me.groups,
    time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    ...(comment ? { comment } : {}),
  };
  // Bulwark's status writes change the resourceVersion too: on a conflict, read again and retry.
  for (let attempt = 1; ; attempt++) {
    const current = await session.client.call('GET', path, { timeoutMs: TIMEOUT_MS });
    if (current.status !== 200) throw new BaseError('CLI_USAGE', `cannot read ${display}: ${apiMessage(current)}`);
    const object = current.body as { spec: Record<string, unknown[] | undefined> };
    object.spec[LIST[kind]] = [...(object.spec[LIST[kind]] ?? []), entry];
    const res = await session.client.call('PUT', path, { body: JSON.stringify(object), timeoutMs: TIMEOUT_MS });
    if (res.status === 200) break;
    if (res.status !== 409 || attempt >= 5)
      throw new BaseError('CLI_USAGE', `cannot ${VERB[kind]} ${display}: ${apiMessage(res)}`);
  }
  print(`${display} ${VERB[kind]}${VERB[kind].endsWith('e') ? 'd' : 'ed'} by ${me.username}`);
}
