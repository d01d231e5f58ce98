// Changes a careless comparison misses or chokes on (issue 10, findings 14 and 16):
// integers beyond 2^53 and objects nested thousands of levels deep, decoded from the
// review text as the server decodes it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createReviewDecoder } from '../../../../src/admission/decode.ts';

const { parse: parseReview } = createReviewDecoder();
import type { AdmissionReviewRequest } from '../../../../src/admission/types.ts';
import { reviewRequest } from '../../../../src/review/review.ts';
import { makesExactly } from '../../../../src/rules/unlock/match.ts';
import { REVIEWS_DIR } from '../../../helpers/fixtures.ts';
import { immutabilityPolicy } from '../../../helpers/policies.ts';
import { CREATED_MS, unlockRequest, unlockReview } from '../../../helpers/unlock.ts';
import { builtinSnapshot, policyStore } from '../../../helpers/snapshots.ts';

const decide = (review: AdmissionReviewRequest) =>
  reviewRequest({ request: review.request, snapshot: builtinSnapshot(), facts: {} });
const capturedText = (name: string) => readFileSync(join(REVIEWS_DIR, `${name}.json`), 'utf8');

describe('large integers', () => {
  const text = capturedText('customresource-bigint-changed');

  it('captured: 9007199254740993 -> 9007199254740992 on a locked custom resource is denied', () => {
    expect(text).toContain('"microDollars": 9007199254740993');
    const verdict = decide(parseReview(text));
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons[0]).toMatch(
      /^Document demo\/invoice is locked .*would change spec\.microDollars \(changed\)$/,
    );
  });

  it('the same object with its large integers unchanged is allowed', () => {
    const identical = text.replace('"microDollars": 9007199254740992', '"microDollars": 9007199254740993');
    expect(decide(parseReview(identical)).allowed).toBe(true);
  });

  it.each([
    ['the largest int64, one less', '9223372036854775807', '9223372036854775806'],
    ['a nanosecond timestamp, last digit', '1732846513123456789', '1732846513123456788'],
    ["a float beyond a double's precision", '0.30000000000000004', '0.30000000000000005'],
    ["an exponent beyond a double's range", '1e400', '2e400'],
  ])('%s is a change', (_what, before, after) => {
    const edited = text
      .replace('"microDollars": 9007199254740993', `"microDollars": ${before}`)
      .replace('"microDollars": 9007199254740992', `"microDollars": ${after}`);
    expect(decide(parseReview(edited)).reasons.join()).toContain('spec.microDollars (changed)');
  });
});

describe('an object nested 9,000 levels deep', () => {
  const text = capturedText('customresource-bigint-changed');
  const deep = (leaf: string) => `${'{"a":'.repeat(9000)}${leaf}${'}'.repeat(9000)}`;
  const withSpecs = (before: string, after: string) =>
    text
      .replace('"microDollars": 9007199254740993', `"microDollars": 1, "deep": ${before}`)
      .replace('"microDollars": 9007199254740992', `"microDollars": 1, "deep": ${after}`);

  it('reapplied identically is allowed', () => {
    expect(decide(parseReview(withSpecs(deep('"x"'), deep('"x"')))).allowed).toBe(true);
  });

  it('changed at the bottom is denied with a normal message, the path shortened', () => {
    const verdict = decide(parseReview(withSpecs(deep('"x"'), deep('"y"'))));
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons[0]).toMatch(/would change spec\.deep\.a\.a\.a[.a]*… \(changed\)$/);
    expect(verdict.reasons[0]!.length).toBeLessThan(400);
  });

  it('with large integers inside is read exactly too (the lossless parser needs no stack either)', () => {
    const verdict = decide(parseReview(withSpecs(deep('9007199254740993'), deep('9007199254740992'))));
    expect(verdict.reasons.join()).toContain('(changed)');
  });
});

describe('a change bound by an UnlockRequest, on an object holding large integers', () => {
  const review = () => parseReview(capturedText('customresource-bigint-changed'));

  it('is checked on a copy that keeps them exact (structuredClone refuses raw numbers)', () => {
    const { oldObject, object } = review().request;
    const same = { ...object!, spec: { ...(oldObject!.spec as object), currency: 'USD' } };
    expect(makesExactly([{ op: 'replace', path: '/spec/currency', value: 'USD' }], oldObject!, same)).toBe(true);
    expect(makesExactly([{ op: 'replace', path: '/spec/currency', value: 'USD' }], oldObject!, object!)).toBe(false);
  });
});

describe('an UnlockRequest whose bound change holds a large integer', () => {
  it('is refused at admission, naming the field (its readers would not all read the same number)', () => {
    const store = policyStore({ sources: [] });
    store.upsert(
      'ImmutabilityPolicy',
      immutabilityPolicy('locks', {
        unlock: { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h' },
      }),
    );
    const object = unlockRequest('raise', {
      change: { patch: [{ op: 'replace', path: '/spec/microDollars', value: 1 }] },
    });
    const review = parseReview(JSON.stringify(unlockReview(object)).replace('"value":1', '"value":9007199254740993'));
    const facts = {
      now: CREATED_MS,
      unlockTarget: { status: 'found' as const, object: review.request.object! },
      namespaceLabels: {},
    };
    const verdict = reviewRequest({ request: review.request, snapshot: store.snapshot(), facts });
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons.join()).toContain(
      'spec.change.patch[0].value: holds the number 9007199254740993, which Bulwark cannot read the same way',
    );
  });
});

describe('an approved UnlockRequest as the informer reads it (JSON.parse rounds a large integer)', () => {
  // Approvers approve "microDollars becomes 9007199254740993" (stored while Bulwark was away,
  // or before this check). The informer's JSON.parse reads 9007199254740992: a write of
  // ...992, which nobody approved, matched it. Now such an unlock is never in force.
  const store = policyStore({ sources: [] });
  store.upsert(
    'ImmutabilityPolicy',
    immutabilityPolicy('locks', { unlock: { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h' } }),
  );
  const approvers = ['bob', 'carol'].map((user) => ({ user, groups: ['approvers', 'system:authenticated'] }));
  const readByInformer = (value: string) => {
    const object = unlockRequest(
      'raise',
      {
        target: { apiVersion: 'e2e.bulwark.dev/v1', kind: 'Document', namespace: 'demo', name: 'invoice' },
        change: { patch: [{ op: 'replace', path: '/spec/microDollars', value: 1 }] },
      },
      approvers,
    );
    return store
      .snapshot()
      .compiler.unlock(JSON.parse(JSON.stringify(object).replace('"value":1', `"value":${value}`)));
  };

  it('is invalid (the informers ignore it), so the write of 9007199254740992 stays denied', () => {
    const result = readByInformer('9007199254740993');
    expect(result.ok).toBe(false);
    const verdict = reviewRequest({
      request: parseReview(capturedText('customresource-bigint-changed')).request,
      snapshot: store.snapshot(),
      facts: { now: CREATED_MS + 60_000, unlocks: [], namespaceLabels: {} },
    });
    expect(verdict.allowed).toBe(false);
  });

  it('control: the same unlock with a number every reader reads alike compiles', () => {
    expect(readByInformer('9007199254740991').ok).toBe(true);
    expect(readByInformer('12.5').ok).toBe(true);
  });
});
