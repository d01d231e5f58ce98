// Strictness as a partial order: which policy changes loosen a protection. Table-driven
// over compiled policies, including the built-in default that governs an object no
// policy matches.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_IMMUTABILITY_POLICY } from '../../../src/policy/builtin.ts';
import type { CompiledImagePolicy, CompiledImmutabilityPolicy } from '../../../src/policy/compiled.ts';
import { compileGlob } from '../../../src/policy/glob.ts';
import {
  globCovers,
  imageLooseningsOf,
  imageSetLoosenings,
  matchNarrowed,
} from '../../../src/policy/image-strictness.ts';
import { dominates, immutabilityLoosenings, looseningsOf } from '../../../src/policy/strictness.ts';
import { FIXTURES_DIR } from '../../helpers/fixtures.ts';
import { imagePolicy, immutabilityPolicy, P256_PUBLIC_KEY } from '../../helpers/policies.ts';
import { compiler } from '../../helpers/snapshots.ts';

function imm(name: string, spec: Record<string, unknown> = {}, uid = `uid-${name}`): CompiledImmutabilityPolicy {
  const r = compiler.immutability(immutabilityPolicy(name, spec, { uid }));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.policy;
}

function img(name: string, spec: Record<string, unknown> = {}, uid = `uid-${name}`): CompiledImagePolicy {
  const r = compiler.image({
    ...imagePolicy(name, {
      images: ['registry.example.com/shop/**'],
      authorities: [{ name: 'release', key: { publicKey: P256_PUBLIC_KEY } }],
      ...spec,
    }),
    metadata: { name, uid },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.policy;
}

const base = { unlock: { approvalsRequired: 2, approverGroups: ['leads'], maxDuration: '1h' } };

describe('ImmutabilityPolicy Q dominates P (Q at least as strict)', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>, string[]]>([
    ['identical', base, base, []],
    ['Enforce -> Audit', base, { ...base, enforcement: 'Audit' }, ['switch to Audit']],
    ['Enforce -> Warn', base, { ...base, enforcement: 'Warn' }, ['switch to Warn']],
    ['Warn -> Audit (never denied anyway)', { ...base, enforcement: 'Warn' }, { ...base, enforcement: 'Audit' }, []],
    [
      'Audit -> Audit with anything looser',
      { ...base, enforcement: 'Audit' },
      { enforcement: 'Audit', exemptSubjects: { groups: ['x'] } },
      [],
    ],
    ['Audit -> Enforce (tightening)', { ...base, enforcement: 'Audit' }, base, []],
    ['stops locking DELETE', base, { ...base, operations: ['UPDATE'] }, ['stop locking DELETE']],
    ['locks DELETE too (tightening)', { ...base, operations: ['UPDATE'] }, base, []],
    ['exempts a group', base, { ...base, exemptSubjects: { groups: ['x'] } }, ['exempt group x']],
    [
      'exempts a service account',
      base,
      { ...base, exemptSubjects: { serviceAccounts: [{ namespace: 'ci', name: 'bot' }] } },
      ['exempt user system:serviceaccount:ci:bot'],
    ],
    ['drops an exemption (tightening)', { ...base, exemptSubjects: { users: ['alice'] } }, base, []],
    ['allows a path to change', base, { ...base, allowedChanges: ['/spec/replicas'] }, ['let /spec/replicas change']],
    [
      'narrows an allowed path (tightening)',
      { ...base, allowedChanges: ['/spec'] },
      { ...base, allowedChanges: ['/spec/replicas'] },
      [],
    ],
    [
      'widens an allowed path',
      { ...base, allowedChanges: ['/spec/replicas'] },
      { ...base, allowedChanges: ['/spec'] },
      ['let /spec change'],
    ],
    [
      'needs fewer approvals',
      base,
      { unlock: { ...base.unlock, approvalsRequired: 1 } },
      ['need 1 approval instead of 2'],
    ],
    ['needs more approvals (tightening)', base, { unlock: { ...base.unlock, approvalsRequired: 3 } }, []],
    [
      'lets another group approve',
      base,
      { unlock: { ...base.unlock, approverGroups: ['leads', 'dev'] } },
      ['let group dev approve unlocks'],
    ],
    ['fewer approver groups (tightening)', { unlock: { ...base.unlock, approverGroups: ['leads', 'dev'] } }, base, []],
    ['longer unlocks', base, { unlock: { ...base.unlock, maxDuration: '4h' } }, ['allow unlocks of 4h instead of 1h']],
    [
      'several at once',
      base,
      { enforcement: 'Warn', exemptSubjects: { groups: ['x'] }, unlock: base.unlock },
      ['switch to Warn', 'exempt group x'],
    ],
  ])('%s', (_name, p, q, loosenings) => {
    expect(looseningsOf(imm('q', q), imm('p', p))).toEqual(loosenings);
    expect(dominates(imm('q', q), imm('p', p))).toBe(loosenings.length === 0);
  });

  it('is reflexive and transitive on a chain', () => {
    const chain = [
      imm('a', { enforcement: 'Audit' }),
      imm('b', { ...base, exemptSubjects: { groups: ['x'] } }),
      imm('c', base),
      imm('d', { ...base, allowedChanges: [] }),
    ];
    for (let i = 0; i < chain.length; i++) {
      expect(dominates(chain[i]!, chain[i]!)).toBe(true);
      for (let j = 0; j < i; j++)
        expect(dominates(chain[i]!, chain[j]!), `${chain[i]!.name} >= ${chain[j]!.name}`).toBe(true);
    }
    expect(dominates(chain[0]!, chain[2]!)).toBe(false);
  });
});

describe('a governing set is loosened when some old policy is dominated by no new one', () => {
  const builtin = BUILTIN_IMMUTABILITY_POLICY;
  const prod = imm('prod-config', base);
  const devAudit = imm('dev-audit', { enforcement: 'Audit' });

  it.each<[string, CompiledImmutabilityPolicy[], CompiledImmutabilityPolicy[], string[]]>([
    ['the same set', [prod], [prod], []],
    ['a policy added (strictest wins)', [prod], [prod, devAudit], []],
    [
      'the default replaced by an Audit policy',
      [builtin],
      [devAudit],
      [
        'the built-in default would no longer govern it; in its place ImmutabilityPolicy dev-audit would switch ' +
          'to Audit',
      ],
    ],
    [
      'the default replaced by a policy with approvers',
      [builtin],
      [prod],
      [
        'the built-in default would no longer govern it; in its place ImmutabilityPolicy prod-config would let ' +
          'group leads approve unlocks',
      ],
    ],
    ['a policy gone, the default back', [prod], [builtin], []],
    [
      'moved from prod to an Audit policy',
      [prod],
      [devAudit],
      [
        'ImmutabilityPolicy prod-config would no longer govern it; in its place ImmutabilityPolicy dev-audit ' +
          'would switch to Audit',
      ],
    ],
    [
      'the same policy switched to Audit',
      [prod],
      [imm('prod-config', { ...base, enforcement: 'Audit' })],
      ['ImmutabilityPolicy prod-config would switch to Audit'],
    ],
    [
      'one of two policies loosened, the other as strict',
      [prod, imm('other', base)],
      [imm('prod-config', { ...base, enforcement: 'Audit' }), imm('other', base)],
      [],
    ],
  ])('%s', (_name, before, after, sentences) => {
    expect(immutabilityLoosenings(before, after)).toEqual(sentences);
  });
});

describe('ImagePolicy Q dominates P', () => {
  const other = readFileSync(join(FIXTURES_DIR, 'signatures', 'other.pub'), 'utf8');
  const p384 = readFileSync(join(FIXTURES_DIR, 'signatures', 'p384.pub'), 'utf8');
  /** build, qa and sec (three keys), `threshold` of them, `required` named. */
  function three(threshold: number, required: string[] = []) {
    const authorities = [
      { name: 'build', key: { publicKey: P256_PUBLIC_KEY } },
      { name: 'qa', key: { publicKey: other } },
      { name: 'sec', key: { publicKey: p384 } },
    ];
    return { authorities, threshold, required };
  }
  /** three(1) and a scan attestation signed by `by` with `conditions` over the predicate. */
  function withScan(conditions: string[], by = ['sec']) {
    return {
      ...three(1),
      attestations: [
        {
          name: 'scan',
          predicateType: 'https://example.com/scan/v1',
          authorities: by,
          conditions: conditions.map((c) => ({ expression: `predicate.${c}` })),
        },
      ],
    };
  }
  it.each<[string, Record<string, unknown>, Record<string, unknown>, string[]]>([
    ['identical', {}, {}, []],
    ['Enforce -> Audit', {}, { enforcement: 'Audit' }, ['switch to Audit']],
    [
      'Audit -> Audit with another key (never denied anyway)',
      { enforcement: 'Audit', unmatchedImages: 'Allow' },
      {
        enforcement: 'Audit',
        unmatchedImages: 'Allow',
        authorities: [{ name: 'x', digests: [`sha256:${'a'.repeat(64)}`] }],
      },
      [],
    ],
    [
      'adds a trusted key',
      {},
      {
        authorities: [
          { name: 'release', key: { publicKey: P256_PUBLIC_KEY } },
          { name: 'other', key: { secretRef: { namespace: 'ns', name: 'k' } } },
        ],
      },
      ['trust the key in Secret ns/k (other)'],
    ],
    [
      'adds approved digests',
      {},
      {
        authorities: [
          { name: 'release', key: { publicKey: P256_PUBLIC_KEY } },
          { name: 'hotfix', digests: [`sha256:${'b'.repeat(64)}`] },
        ],
      },
      [`approve digest sha256:${'b'.repeat(64)}`],
    ],
    [
      'renames an authority, same key',
      {},
      { authorities: [{ name: 'renamed', key: { publicKey: P256_PUBLIC_KEY } }] },
      [],
    ],
    ['stops requiring digests', {}, { requireDigest: false }, ['accept images by tag']],
    ['allows unmatched images', {}, { unmatchedImages: 'Allow' }, ['allow images no ImagePolicy matches']],
    [
      'narrows its images',
      {},
      { images: ['registry.example.com/shop/web'] },
      ['stop covering registry.example.com/shop/**'],
    ],
    ['widens its images (tightening)', {}, { images: ['registry.example.com/**'] }, []],
    ['lowers its threshold', three(2), three(1), ['need 1 signers instead of 2']],
    ['drops an attestation', withScan(['x == 1']), three(1), ['require less of attestation scan']],
    ['drops a condition', withScan(['x == 1', 'y == 2']), withScan(['y == 2']), ['require less of attestation scan']],
    ['adds a condition (tightening)', withScan(['x == 1']), withScan(['x == 1', 'y == 2']), []],
    [
      'lets another key sign it',
      withScan(['x == 1']),
      withScan(['x == 1'], ['qa']),
      ['require less of attestation scan'],
    ],
    ['raises its threshold (tightening)', three(1), three(3), []],
    ['drops a required signer', three(2, ['sec']), three(2), ['stop requiring key sec']],
    ['requires a signer (tightening)', three(2), three(2, ['sec']), []],
    [
      'requires a renamed signer with the same key',
      three(2, ['sec']),
      {
        ...three(2, ['security']),
        authorities: three(2).authorities.map((a) => (a.name === 'sec' ? { ...a, name: 'security' } : a)),
      },
      [],
    ],
    [
      'requires another key under the same name',
      three(2, ['sec']),
      {
        ...three(2, ['sec']),
        authorities: [
          ...three(2).authorities.filter((a) => a.name !== 'sec'),
          { name: 'sec', key: { secretRef: { namespace: 'ns', name: 'sec2' } } },
        ],
      },
      ['trust the key in Secret ns/sec2 (sec)', 'stop requiring key sec'],
    ],
  ])('%s', (_name, p, q, loosenings) => {
    expect(imageLooseningsOf(img('q', q), img('p', p))).toEqual(loosenings);
  });

  it('a different inline key is a new trust', () => {
    expect(
      imageLooseningsOf(img('q', { authorities: [{ name: 'release', key: { publicKey: other } }] }), img('p')),
    ).toEqual(['trust key release']);
  });

  it('a namespace losing an ImagePolicy is loosened; gaining one is not', () => {
    const signed = img('signed');
    expect(imageSetLoosenings([signed], [], 'shop')).toEqual([
      'ImagePolicy signed would no longer apply to namespace shop',
    ]);
    expect(imageSetLoosenings([], [signed], 'shop')).toEqual([]);
    expect(imageSetLoosenings([img('audit', { enforcement: 'Audit', unmatchedImages: 'Allow' })], [], 'shop')).toEqual(
      [],
    );
  });
});

describe('globCovers (sound, not complete)', () => {
  it.each<[string, string, boolean]>([
    ['a/**', 'a/b/*', true],
    ['a/**', 'a/b', true],
    ['**', 'anything/**', true],
    ['a/*', 'a/b', true],
    ['a/*', 'a/**', false],
    ['a/b/**', 'a/**', false],
    ['a/*/c', 'a/*/c', true],
    ['a/*/c', 'a/b*/c', false],
  ])('%s covers %s: %s', (q, p, covers) => {
    expect(globCovers(compileGlob(q), compileGlob(p))).toBe(covers);
  });
});

describe('matchNarrowed (an ImagePolicy applying to fewer namespaces)', () => {
  it.each<[string, Record<string, unknown> | undefined, Record<string, unknown> | undefined, boolean]>([
    ['unchanged', { namespaces: ['a'] }, { namespaces: ['a'] }, false],
    ['names added', { namespaces: ['a'] }, { namespaces: ['a', 'b'] }, false],
    ['a name removed', { namespaces: ['a', 'b'] }, { namespaces: ['a'] }, true],
    ['limited by name where it was everywhere', undefined, { namespaces: ['a'] }, true],
    ['limit lifted', { namespaces: ['a'] }, undefined, false],
    ['selector added', undefined, { namespaceSelector: { matchLabels: { team: 'shop' } } }, true],
    [
      'selector changed',
      { namespaceSelector: { matchLabels: { team: 'shop' } } },
      { namespaceSelector: { matchLabels: { team: 'web' } } },
      true,
    ],
    ['selector removed', { namespaceSelector: { matchLabels: { team: 'shop' } } }, {}, false],
  ])('%s: %s', (_name, before, after, narrowed) => {
    expect(matchNarrowed(before, after)).toBe(narrowed);
  });
});
