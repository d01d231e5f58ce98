// The cluster's people, authenticated by static bearer tokens (--token-auth-file).
// alice, bob and carol can approve (group approvers), dave is a plain developer, admin
// is a cluster administrator, erin and frank are policy admins (group policy-admins,
// which the harness's Bulwark is configured with) without being cluster administrators.
// Tokens are random per cluster.

import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';

export const USERS = {
  admin: ['system:masters'],
  alice: ['dev', 'approvers'],
  bob: ['dev', 'approvers'],
  carol: ['dev', 'approvers'],
  dave: ['dev'],
  erin: ['dev', 'policy-admins'],
  frank: ['dev', 'policy-admins'],
} as const satisfies Record<string, readonly string[]>;

export type UserName = keyof typeof USERS;
export const USER_NAMES = Object.keys(USERS) as UserName[];
export type Tokens = Record<UserName, string>;

export function randomTokens(): Tokens {
  const tokens: Partial<Tokens> = {};
  for (const user of USER_NAMES) tokens[user] = randomBytes(24).toString('hex');
  return tokens as Tokens;
}

/** The CSV the apiserver reads: token,user,uid,"group1,group2"; `extraLines` add other identities. */
export async function writeTokenFile(file: string, tokens: Tokens, extraLines: readonly string[] = []): Promise<void> {
  const lines = [
    ...USER_NAMES.map((user) => `${tokens[user]},${user},${user},"${USERS[user].join(',')}"`),
    ...extraLines,
  ];
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
}
