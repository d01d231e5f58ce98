// Keyless authorities as written in an ImagePolicy: identities compiled once (regular
// expressions anchored, bad ones refused with their path), one signer per identity set,
// and what makes a change of them a loosening.

import { describe, expect, it } from 'vitest';
import { identityMatches } from '../../../src/policy/compile-keyless.ts';
import type { CompiledImagePolicy } from '../../../src/policy/compiled.ts';
import { imageLooseningsOf } from '../../../src/policy/image-strictness.ts';
import { imagePolicy } from '../../helpers/policies.ts';
import { compiler } from '../../helpers/snapshots.ts';

const ROOT = { namespace: 'bulwark-system', name: 'sigstore-root' };
const ALICE = { issuer: 'https://issuer.example.com', subject: 'alice@example.com' };
const keyless = (name: string, identities: object[], trustedRootRef: object = ROOT) => ({
  name,
  keyless: { trustedRootRef, identities },
});

function compile(authorities: object[], spec: Record<string, unknown> = {}) {
  return compiler.image(imagePolicy('k', { images: ['**'], authorities, ...spec }));
}

function compiled(authorities: object[]): CompiledImagePolicy {
  const r = compile(authorities);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.policy;
}

const problems = (authorities: object[], spec: Record<string, unknown> = {}) => {
  const r = compile(authorities, spec);
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
};

describe('compiling keyless authorities', () => {
  it('reads the trusted root reference (default key trusted_root.json) and the identities', () => {
    const p = compiled([keyless('ci', [ALICE])]);
    expect(p.authorities[0]).toMatchObject({
      kind: 'keyless',
      trustedRootRef: { ...ROOT, key: 'trusted_root.json' },
      identities: [{ text: 'issuer "https://issuer.example.com", subject "alice@example.com"' }],
    });
  });

  it('anchors regular expressions: the whole value must match', () => {
    const [a] = compiled([
      keyless('ci', [{ issuer: ALICE.issuer, subjectRegExp: 'https://github\\.com/shop/.*' }]),
    ]).authorities;
    if (a?.kind !== 'keyless') throw new Error('not keyless');
    expect(identityMatches(a.identities, ALICE.issuer, 'https://github.com/shop/web/.github/workflows/r.yml')).toBe(
      true,
    );
    expect(identityMatches(a.identities, ALICE.issuer, 'https://evil.example/?https://github.com/shop/x')).toBe(false);
    expect(identityMatches(a.identities, 'https://issuer.example.com.evil', 'https://github.com/shop/x')).toBe(false);
  });

  it('refuses a bad regular expression, an identity with both or neither forms, with paths', () => {
    expect(
      problems([
        keyless('ci', [
          { issuer: ALICE.issuer, subjectRegExp: '(' },
          { issuer: ALICE.issuer, issuerRegExp: '.*', subject: 'x' },
          { subject: 'x' },
        ]),
      ]),
    ).toEqual([
      expect.stringMatching(/^spec\.authorities\[0\]\.keyless\.identities\[0\]\.subjectRegExp: is not a valid regular/),
      'spec.authorities[0].keyless.identities[1]: needs exactly one of issuer or issuerRegExp',
      'spec.authorities[0].keyless.identities[2]: needs exactly one of issuer or issuerRegExp',
    ]);
  });

  it('refuses two authorities with the same identities under one root: a signer counts once', () => {
    expect(problems([keyless('ci', [ALICE]), keyless('again', [ALICE])], { threshold: 2 })).toEqual([
      'spec.authorities[1].keyless: has the same trusted root and identities as authority "ci": a signer counts once',
    ]);
  });

  it('lets keyless authorities sign attestations', () => {
    const p = compile([keyless('ci', [ALICE])], {
      attestations: [{ name: 'scan', predicateType: 'https://example.com/scan', authorities: ['ci'] }],
    });
    expect(p.ok).toBe(true);
  });
});

describe('loosening keyless authorities', () => {
  const before = compiled([keyless('ci', [ALICE])]);

  it('trusting another identity or another root loosens; dropping an identity does not', () => {
    const bob = { issuer: ALICE.issuer, subject: 'bob@example.com' };
    expect(imageLooseningsOf(compiled([keyless('ci', [ALICE, bob])]), before)).toEqual([
      expect.stringMatching(/^trust keyless ci \(.*bob@example.com.*ConfigMap bulwark-system\/sigstore-root\)$/),
    ]);
    expect(
      imageLooseningsOf(compiled([keyless('ci', [ALICE], { namespace: 'shop', name: 'root' })]), before),
    ).toHaveLength(1);
    const two = compiled([keyless('ci', [ALICE, bob])]);
    expect(imageLooseningsOf(before, two)).toEqual([]);
  });
});
