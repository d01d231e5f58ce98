// k of n signers: how per-authority outcomes combine with a policy's threshold and
// required names, each signer counted once, and what a denial says.

import { describe, expect, it } from 'vitest';
import { combineSigners, type AuthorityOutcome } from '../../../src/rules/images/threshold.ts';

const signed = (authority: string, signer = `key-${authority}`): AuthorityOutcome => ({
  authority,
  ok: true,
  detail: 'sigstore bundle (referrers API)',
  signer,
});
const unsigned = (authority: string): AuthorityOutcome => ({
  authority,
  ok: false,
  failure: 'unsigned',
  reason: `no cosign signature by ${authority}`,
});
const forged = (authority: string): AuthorityOutcome => ({
  authority,
  ok: false,
  failure: 'not-genuine',
  reason: 'a sigstore bundle does not verify with the key it names',
});

describe('combineSigners', () => {
  it('threshold 1 without required names behaves as before: the first passing authority admits', () => {
    expect(combineSigners({ threshold: 1, required: [] }, [unsigned('a'), signed('b')])).toEqual({
      ok: true,
      authority: 'b',
      detail: 'sigstore bundle (referrers API)',
    });
    expect(combineSigners({ threshold: 1, required: [] }, [unsigned('a'), forged('b')])).toMatchObject({
      ok: false,
      failure: 'not-genuine',
    });
  });

  it('2 of 3 met: names the signers', () => {
    const result = combineSigners({ threshold: 2, required: [] }, [signed('build'), unsigned('qa'), signed('sec')]);
    expect(result).toMatchObject({ ok: true, authority: 'build,sec' });
    expect(result.ok && result.detail).toMatch(/^2 of 3 signers \(threshold 2\): build \(.*\), sec \(/);
  });

  it('2 of 3 not met: who signed, who is missing, how many more', () => {
    const result = combineSigners({ threshold: 2, required: [] }, [signed('build'), unsigned('qa'), forged('sec')]);
    expect(result).toMatchObject({ ok: false, failure: 'too-few-signers' });
    expect(!result.ok && result.reason).toMatch(
      /^signed by build; missing qa, sec; 1 more needed \(threshold 2 of 3\)\. /,
    );
    expect(!result.ok && result.reason).toMatch(/authority "sec": .*not verify.*; authority "qa": no cosign signature/);
  });

  it('nobody signed: the most informative failure, with the summary', () => {
    const result = combineSigners({ threshold: 2, required: [] }, [unsigned('build'), forged('qa')]);
    expect(result).toMatchObject({ ok: false, failure: 'not-genuine' });
    expect(!result.ok && result.reason).toMatch(/^signed by none of its signers; missing build, qa; 2 more needed/);
  });

  it('a required signer is needed whatever the threshold', () => {
    const result = combineSigners({ threshold: 1, required: ['sec'] }, [
      signed('build'),
      signed('qa'),
      unsigned('sec'),
    ]);
    expect(result).toMatchObject({ ok: false, failure: 'too-few-signers' });
    expect(!result.ok && result.reason).toMatch(
      /signed by build, qa; missing sec; 1 more needed \(threshold 1 of 3, required: sec\); required sec did not sign/,
    );
    expect(combineSigners({ threshold: 1, required: ['sec'] }, [unsigned('build'), signed('sec')])).toMatchObject({
      ok: true,
      authority: 'sec',
    });
  });

  it('one key under two authorities counts once', () => {
    const result = combineSigners({ threshold: 2, required: [] }, [
      signed('build', 'same'),
      signed('qa', 'same'),
      unsigned('sec'),
    ]);
    expect(result).toMatchObject({ ok: false, failure: 'too-few-signers' });
    expect(!result.ok && result.reason).toMatch(/not counted: qa \(the same key as build: counted once\)/);
  });

  it('approved digests (no key identity) count as their authority', () => {
    const digest: AuthorityOutcome = { authority: 'hotfix', ok: true, detail: 'on its approved-digest list' };
    expect(combineSigners({ threshold: 2, required: [] }, [digest, signed('build')])).toMatchObject({ ok: true });
  });
});
