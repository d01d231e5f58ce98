// A label change a policy allows can move a locked object under another policy through
// an objectSelector: db -> web puts it under an Audit policy, and the next change passes.
// The governing set after the change must be at least as strict as before (the same
// order as for policy changes and namespace relabelling), or an approved unlock is needed.

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest, KubeObject } from '../../../../src/admission/types.ts';
import type { RequestFacts } from '../../../../src/decision/facts.ts';
import { reviewRequest } from '../../../../src/review/review.ts';
import type { PolicySnapshot } from '../../../../src/policy/compiled.ts';
import { immutabilityPolicy } from '../../../helpers/policies.ts';
import { variant } from '../../../helpers/reviews.ts';
import { CREATED_MS, unlockRequest } from '../../../helpers/unlock.ts';
import { compiler, snapshotOf } from '../../../helpers/snapshots.ts';
import { joinedRegExp } from '../../../helpers/regexp.ts';

const LOCK = { 'bulwark.dev/immutable': 'true' };
const LEADS = { approvalsRequired: 2, approverGroups: ['leads'], maxDuration: '1h' };

function snapshot(...specs: [string, Record<string, unknown>][]): PolicySnapshot {
  return snapshotOf({
    immutability: specs.map(([name, spec]) => {
      const r = compiler.immutability(immutabilityPolicy(name, spec) as KubeObject);
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      return r.policy;
    }),
  });
}

/** db: enforcing, lets the tier label change; web: Audit; strict-web: as strict as db. */
const db: [string, Record<string, unknown>] = [
  'db',
  {
    match: { objectSelector: { matchLabels: { tier: 'db' } } },
    allowedChanges: ['/metadata/labels/tier'],
    unlock: LEADS,
  },
];
const webAudit: [string, Record<string, unknown>] = [
  'web',
  { match: { objectSelector: { matchLabels: { tier: 'web' } } }, enforcement: 'Audit' },
];
const webStrict: [string, Record<string, unknown>] = [
  'web',
  {
    match: { objectSelector: { matchLabels: { tier: 'web' } } },
    allowedChanges: ['/metadata/labels/tier'],
    unlock: LEADS,
  },
];

/** A locked ConfigMap whose tier label goes from `before` to `after` (nothing else changes), by alice. */
function retier(before: string, after: string | undefined): AdmissionReviewRequest {
  return variant('configmap-apply-identical', (r) => {
    r.request.oldObject!.metadata!.labels = { ...LOCK, tier: before };
    r.request.object!.metadata!.labels = { ...LOCK, ...(after ? { tier: after } : {}) };
    r.request.userInfo = { username: 'alice', groups: ['dev', 'system:authenticated'] };
  });
}

const decide = (review: AdmissionReviewRequest, s: PolicySnapshot, facts: RequestFacts = {}) =>
  reviewRequest({ request: review.request, snapshot: s, facts });

describe('a label change that moves a locked object under other policies', () => {
  it('is denied when a looser policy would govern it, naming what would loosen', () => {
    const v = decide(retier('db', 'web'), snapshot(db, webAudit));
    expect(v.allowed).toBe(false);
    expect(v.reasons.join()).toMatch(
      joinedRegExp(
        /^ConfigMap \S+ is locked \(labelled bulwark\.dev\/immutable=true\); this update would /,
        /change its labels so that its protection loosens \(ImmutabilityPolicy db would no longer /,
        /govern it; in its place ImmutabilityPolicy web would switch to Audit\)/,
      ),
    );
  });

  it(
    'is allowed when what governs it afterwards is at least as strict: another strict policy, or the built-in ' +
      'default',
    () => {
      expect(decide(retier('db', 'web'), snapshot(db, webStrict)).allowed).toBe(true);
      expect(decide(retier('db', 'cache'), snapshot(db, webAudit)).allowed).toBe(true);
      expect(decide(retier('db', undefined), snapshot(db, webAudit)).allowed).toBe(true);
    },
  );

  it('is denied even to someone the old policy exempts: the looser protection would bind everyone else too', () => {
    const exempting: [string, Record<string, unknown>] = ['db', { ...db[1], exemptSubjects: { users: ['alice'] } }];
    const v = decide(retier('db', 'web'), snapshot(exempting, webAudit));
    expect(v.allowed).toBe(false);
    expect(v.reasons.join()).toContain('would switch to Audit');
  });

  it('goes through with an approved UnlockRequest for the object, like any other change', () => {
    const review = retier('db', 'web');
    const name = review.request.name!;
    const compiled = compiler.unlock(
      unlockRequest(
        'retier',
        { target: { apiVersion: 'v1', kind: 'ConfigMap', namespace: review.request.namespace, name } },
        [
          { user: 'bob', groups: ['leads'] },
          { user: 'carol', groups: ['leads'] },
        ],
      ),
    );
    if (!compiled.ok) throw new Error(JSON.stringify(compiled));
    const unlock = compiled.unlock;
    const v = decide(review, snapshot(db, webAudit), { unlocks: [unlock], now: CREATED_MS + 60_000 });
    expect(v.allowed, v.reasons.join()).toBe(true);
    expect(v.warnings.join()).toContain(`UnlockRequest ${unlock.name}`);
  });
});
