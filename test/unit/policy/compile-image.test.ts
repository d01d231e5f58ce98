import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR } from '../../helpers/fixtures.ts';
import { P256_PUBLIC_KEY, examplePolicies, imagePolicy } from '../../helpers/policies.ts';
import { compiler } from '../../helpers/snapshots.ts';

function problems(raw: unknown): string[] {
  const result = compiler.image(raw);
  if (result.ok) throw new Error('expected problems');
  return result.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('compileImagePolicy: thresholds and required signers', () => {
  const other = readFileSync(join(FIXTURES_DIR, 'signatures', 'other.pub'), 'utf8');
  const two = [
    { name: 'build', key: { publicKey: P256_PUBLIC_KEY } },
    { name: 'qa', key: { publicKey: other } },
  ];

  it('compiles a threshold and required names (default 1 and none)', () => {
    const r = compiler.image(imagePolicy('t', { images: ['**'], authorities: two, threshold: 2, required: ['qa'] }));
    expect(r.ok && [r.policy.threshold, r.policy.required]).toEqual([2, ['qa']]);
    const d = compiler.image(imagePolicy('d', { images: ['**'], authorities: two }));
    expect(d.ok && [d.policy.threshold, d.policy.required]).toEqual([1, []]);
  });

  it.each([
    [
      'a threshold the authorities cannot reach',
      { threshold: 3 },
      /spec\.threshold: 3 cannot be reached: the policy has 2 authorities/,
    ],
    [
      'a required name that is no authority',
      { required: ['security'] },
      /spec\.required\[0\]: names no authority \("security"\)/,
    ],
    [
      'one key under two names (one signature would count twice)',
      { authorities: [...two, { name: 'sec', key: { publicKey: P256_PUBLIC_KEY } }] },
      /spec\.authorities\[2\]\.key: is the same key as authority "build": a signer counts once/,
    ],
    [
      'one key Secret under two names',
      {
        authorities: [
          { name: 'a', key: { secretRef: { namespace: 'n', name: 's' } } },
          { name: 'b', key: { secretRef: { namespace: 'n', name: 's', key: 'cosign.pub' } } },
        ],
      },
      /spec\.authorities\[1\]\.key: is the same key as authority "a"/,
    ],
  ])('refuses %s, with its path', (_name, spec, expected) => {
    expect(problems(imagePolicy('bad', { images: ['**'], authorities: two, ...spec })).join('\n')).toMatch(expected);
  });
});

describe('compileImagePolicy: attestations (CEL compiled once, here)', () => {
  const attest = (conditions: { expression: string; message?: string }[], authorities?: string[]) =>
    imagePolicy('att', {
      images: ['**'],
      authorities: [{ name: 'build', key: { publicKey: P256_PUBLIC_KEY } }],
      attestations: [
        {
          name: 'scan',
          predicateType: 'https://example.com/scan/v1',
          conditions,
          ...(authorities ? { authorities } : {}),
        },
      ],
    });

  it('compiles conditions that read the predicate and the request time', () => {
    const r = compiler.image(
      attest([
        { expression: 'has(predicate.ticket) && predicate.ticket.matches("^CHG-[0-9]+$")', message: 'a ticket' },
        { expression: 'timestamp(predicate.finished) > now - duration("24h")' },
      ]),
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const [ticket, fresh] = r.policy.attestations[0]!.conditions;
    const now = new Date('2026-11-29T06:00:00Z');
    expect(ticket!.evaluate({ ticket: 'CHG-1' }, now)).toBe(true);
    expect(ticket!.evaluate({}, now)).toBe('is false');
    expect(fresh!.evaluate({ finished: '2026-11-29T01:00:00Z' }, now)).toBe(true);
    expect(fresh!.evaluate({ finished: '2026-11-27T01:00:00Z' }, now)).toBe('is false');
    expect(fresh!.evaluate({}, now)).toMatch(/^cannot be evaluated: /);
    expect(r.policy.attestations[0]!.authorities).toEqual(['build']);
  });

  it('judges a condition without `now` once per predicate, and one with `now` at every request time', () => {
    const r = compiler.image(
      attest([
        { expression: 'predicate.severity == "LOW"' },
        { expression: 'timestamp(predicate.finished) > now - duration("24h")' },
      ]),
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const [severity, fresh] = r.policy.attestations[0]!.conditions;
    let reads = 0;
    const predicate = {
      get severity() {
        reads++;
        return 'LOW';
      },
      finished: '2026-11-29T01:00:00Z',
    };
    expect(severity!.evaluate(predicate, new Date('2026-11-29T06:00:00Z'))).toBe(true);
    expect(severity!.evaluate(predicate, new Date('2026-12-29T06:00:00Z'))).toBe(true);
    expect(reads).toBe(1);
    expect(severity!.evaluate({ severity: 'HIGH' }, new Date())).toBe('is false');
    // A cached verification keeps its predicate: freshness is judged again at each request's time.
    expect(fresh!.evaluate(predicate, new Date('2026-11-29T06:00:00Z'))).toBe(true);
    expect(fresh!.evaluate(predicate, new Date('2026-12-29T06:00:00Z'))).toBe('is false');
  });

  it.each([
    ['a syntax error', 'predicate.x +', /spec\.attestations\[0\]\.conditions\[0\]\.expression: is not valid CEL: /],
    [
      'not a bool',
      'size(predicate.list)',
      /spec\.attestations\[0\]\.conditions\[0\]\.expression: is of type int; a condition must be a bool/,
    ],
    ['an unknown variable', 'request.user == "x"', /spec\.attestations\[0\]\.conditions\[0\]\.expression: /],
  ])('refuses %s, with its path', (_name, expression, expected) => {
    expect(problems(attest([{ expression }])).join('\n')).toMatch(expected);
  });

  it('refuses an attestation authority that is no key authority', () => {
    expect(problems(attest([], ['security'])).join('\n')).toMatch(
      /spec\.attestations\[0\]\.authorities\[0\]: names no key or keyless authority \("security"\)/,
    );
  });
});

describe('compileImagePolicy', () => {
  it('compiles globs, keys, digests and defaults', () => {
    const result = compiler.image(examplePolicies()['shop-images']);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const p = result.policy;
    expect(p.requireDigest).toBe(true);
    expect(p.enforcement).toBe('Enforce');
    expect(p.unmatchedImages).toBe('Deny');
    expect(p.images[0]!.regex.test('registry.local:5000/shop/web')).toBe(true);
    expect(p.images[0]!.regex.test('registry.local:5000/shop/team/web')).toBe(true);
    expect(p.images[0]!.regex.test('registry.local:5000/other/web')).toBe(false);
    expect(p.authorities.map((a) => a.kind)).toEqual(['key', 'digests']);
    expect(p.matchNamespace('shop', { team: 'shop' })).toBe('match');
    expect(p.matchNamespace('shop', undefined)).toBe('unknown');
  });

  it('reads a key from a Secret by reference, defaulting the data key', () => {
    const result = compiler.image(
      imagePolicy('ref', {
        images: ['**'],
        authorities: [{ name: 'k', key: { secretRef: { namespace: 'bulwark-system', name: 'cosign' } } }],
      }),
    );
    expect(result.ok && result.policy.authorities[0]).toEqual({
      name: 'k',
      kind: 'key',
      key: { secretRef: { namespace: 'bulwark-system', name: 'cosign', key: 'cosign.pub' } },
    });
  });

  it.each([
    [
      'a PEM that is not a public key',
      { images: ['**'], authorities: [{ name: 'k', key: { publicKey: 'hello' } }] },
      /spec\.authorities\[0\]\.key\.publicKey: is not a PEM public key/,
    ],
    [
      'a truncated key',
      {
        images: ['**'],
        authorities: [{ name: 'k', key: { publicKey: P256_PUBLIC_KEY.replace(/[A-Za-z0-9]{20}\n/, '\n') } }],
      },
      /spec\.authorities\[0\]\.key\.publicKey: cannot be parsed/,
    ],
    [
      'an unsupported curve',
      {
        images: ['**'],
        authorities: [
          { name: 'k', key: { publicKey: readFileSync(join(FIXTURES_DIR, 'keys', 'secp256k1.pub'), 'utf8') } },
        ],
      },
      /unsupported key type ec \(secp256k1\)/,
    ],
    [
      'both key and digests',
      { images: ['**'], authorities: [{ name: 'k', key: { publicKey: P256_PUBLIC_KEY }, digests: [] }] },
      /spec\.authorities\[0\]: needs exactly one of key, keyless or digests/,
    ],
    [
      'a bad digest',
      { images: ['**'], authorities: [{ name: 'd', digests: ['sha256:xyz'] }] },
      /spec\.authorities\[0\]\.digests\[0\]: must match pattern/,
    ],
    [
      'a bad glob',
      { images: ['registry/{a,b}'], authorities: [{ name: 'd', digests: [] }] },
      /spec\.images\[0\]: "registry\/\{a,b\}" may contain only/,
    ],
    ['no authorities', { images: ['**'], authorities: [] }, /spec\.authorities: must NOT have fewer than 1 items/],
    [
      'a bad CA bundle',
      { images: ['**'], authorities: [{ name: 'd', digests: [] }], registry: { caBundle: 'nope' } },
      /spec\.registry\.caBundle: contains no PEM certificate/,
    ],
    [
      'duplicate authority names',
      {
        images: ['**'],
        authorities: [
          { name: 'd', digests: [] },
          { name: 'd', digests: [] },
        ],
      },
      /spec\.authorities\[1\]\.name: duplicate/,
    ],
  ])('rejects %s', (_name, spec, expected) => {
    expect(problems(imagePolicy('bad', spec)).join('\n')).toMatch(expected);
  });
});
