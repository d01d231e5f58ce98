// Keyless authorities of an ImagePolicy: who may sign with a Fulcio certificate (OIDC
// issuer and subject, each exact or a regular expression matching the whole value) and
// the ConfigMap whose trusted root the certificates, log entries and SCTs are checked
// against. Regular expressions are compiled here, once; a bad one is refused with its path.

import type { FieldProblem } from '../errors.ts';
import type { CompiledAuthority, CompiledIdentity } from './compiled.ts';
import type { ImagePolicy } from './generated/types.ts';

type KeylessSpec = NonNullable<ImagePolicy['spec']['authorities'][number]['keyless']>;
export type KeylessAuthority = Extract<CompiledAuthority, { kind: 'keyless' }>;

export const DEFAULT_TRUSTED_ROOT_KEY = 'trusted_root.json';

function matcher(
  exact: string | undefined,
  pattern: string | undefined,
  path: string,
  what: string,
  problems: FieldProblem[],
): string | RegExp | undefined {
  if ((exact === undefined) === (pattern === undefined)) {
    problems.push({ path, message: `needs exactly one of ${what} or ${what}RegExp` });
    return undefined;
  }
  if (exact !== undefined) return exact;
  try {
    // Anchored: "https://github.com/shop/.*" must not admit "https://evil.example/?https://github.com/shop/x".
    return new RegExp(`^(?:${pattern})$`, 'u');
  } catch (err) {
    problems.push({
      path: `${path}.${what}RegExp`,
      message: `is not a valid regular expression: ${(err as Error).message}`,
    });
    return undefined;
  }
}

const describe = (m: string | RegExp, what: string) =>
  typeof m === 'string' ? `${what} ${JSON.stringify(m)}` : `${what} matching /${m.source.slice(4, -2)}/`;

export function compileKeyless(
  name: string,
  spec: KeylessSpec,
  at: string,
  problems: FieldProblem[],
): KeylessAuthority {
  const identities: CompiledIdentity[] = [];
  spec.identities.forEach((identity, i) => {
    const path = `${at}.identities[${i}]`;
    const issuer = matcher(identity.issuer, identity.issuerRegExp, path, 'issuer', problems);
    const subject = matcher(identity.subject, identity.subjectRegExp, path, 'subject', problems);
    if (issuer !== undefined && subject !== undefined)
      identities.push({ issuer, subject, text: `${describe(issuer, 'issuer')}, ${describe(subject, 'subject')}` });
  });
  const ref = spec.trustedRootRef;
  return {
    name,
    kind: 'keyless',
    trustedRootRef: { namespace: ref.namespace, name: ref.name, key: ref.key ?? DEFAULT_TRUSTED_ROOT_KEY },
    identities,
  };
}

/** Whether a certificate's issuer and subject are one of the authority's identities. */
export function identityMatches(identities: readonly CompiledIdentity[], issuer: string, subject: string): boolean {
  const test = (m: string | RegExp, value: string) => (typeof m === 'string' ? m === value : m.test(value));
  return identities.some((id) => test(id.issuer, issuer) && test(id.subject, subject));
}

/** What makes two keyless authorities the same signer: the same trusted root and identities. */
export function keylessSignerId(a: KeylessAuthority): string {
  const r = a.trustedRootRef;
  return `keyless:${r.namespace}/${r.name}/${r.key}:${a.identities.map((i) => i.text).join('|')}`;
}
