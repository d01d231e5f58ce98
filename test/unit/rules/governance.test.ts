// Governance of locks (issue 10, findings 1 and 2): who may write policies, and policy
// writes or namespace relabellings that would loosen existing protection need the same
// agreement as changing a locked object.

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest, KubeObject } from '../../../src/admission/types.ts';
import type { RequestFacts } from '../../../src/decision/facts.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import type { CompiledImagePolicy, CompiledImmutabilityPolicy, PolicySnapshot } from '../../../src/policy/compiled.ts';
import type { CompiledUnlock } from '../../../src/policy/compile-unlock.ts';
import { ALICE, exposed, lockedObject, namespaceRelabel, policyWrite } from '../../helpers/governance.ts';
import { imagePolicy, immutabilityPolicy, P256_PUBLIC_KEY } from '../../helpers/policies.ts';
import { CREATED_MS, unlockRequest } from '../../helpers/unlock.ts';
import { compiler, snapshotOf } from '../../helpers/snapshots.ts';
import { joinedRegExp } from '../../helpers/regexp.ts';

const ADMINS = { groups: new Set(['system:masters', 'policy-admins']), users: new Set<string>() };
const LEADS = { approvalsRequired: 2, approverGroups: ['leads'], maxDuration: '1h' };

function imm(name: string, spec: Record<string, unknown>): KubeObject {
  return immutabilityPolicy(name, spec) as KubeObject;
}
function compiledImm(object: KubeObject): CompiledImmutabilityPolicy {
  const r = compiler.immutability(object);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.policy;
}
function img(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return imagePolicy(name, {
    images: ['registry.example.com/shop/**'],
    authorities: [{ name: 'release', key: { publicKey: P256_PUBLIC_KEY } }],
    ...spec,
  }) as KubeObject;
}
function compiledImg(object: KubeObject): CompiledImagePolicy {
  const r = compiler.image(object);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.policy;
}

function snapshot(immutability: KubeObject[] = [], images: KubeObject[] = []): PolicySnapshot {
  return snapshotOf({
    immutability: immutability.map(compiledImm),
    images: images.map(compiledImg),
    policyAdmins: ADMINS,
  });
}

const decide = (review: AdmissionReviewRequest, s: PolicySnapshot, facts: RequestFacts = {}) =>
  reviewRequest({ request: review.request, snapshot: s, facts });
const reasons = (review: AdmissionReviewRequest, s: PolicySnapshot, facts: RequestFacts = {}) =>
  decide(review, s, facts).reasons.join('; ');

const prodConfig = imm('prod-config', { match: { namespaces: ['prod'] }, unlock: LEADS });
const appConfig = lockedObject('ConfigMap', 'prod', 'app-config');

describe('policy authorship: only the policy admins write policies, whatever RBAC says', () => {
  const exempting = imm('alice-free', { exemptSubjects: { users: ['alice'] } });

  it.each<[string, AdmissionReviewRequest, string]>([
    ['create', policyWrite('CREATE', { object: exempting }, ALICE), 'create'],
    [
      'change',
      policyWrite(
        'UPDATE',
        {
          oldObject: prodConfig,
          object: imm('prod-config', { match: { namespaces: ['prod'] }, enforcement: 'Audit' }),
        },
        ALICE,
      ),
      'change',
    ],
    ['delete', policyWrite('DELETE', { oldObject: prodConfig }, ALICE), 'delete'],
    ['create an ImagePolicy', policyWrite('CREATE', { object: img('mine') }, ALICE), 'create'],
  ])('alice may not %s one', (_name, review, verb) => {
    const v = decide(review, snapshot([prodConfig]), { exposed: exposed([]) });
    expect(v.allowed).toBe(false);
    expect(v.reasons.join()).toMatch(
      new RegExp(
        `only the policy admins \\(group system:masters, group policy-admins\\) ` +
          `may ${verb} (ImmutabilityPolicy|ImagePolicy) \\S+, whatever RBAC allows; alice is not one of them`,
      ),
    );
  });

  it('lets an admin create one that loosens nothing locked', () => {
    expect(decide(policyWrite('CREATE', { object: exempting }), snapshot(), { exposed: exposed([]) }).allowed).toBe(
      true,
    );
  });

  it('leaves writes that change nothing a person wrote to anyone: status, bookkeeping, the garbage collector', () => {
    const withStatus = {
      ...prodConfig,
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
      metadata: { ...prodConfig.metadata, resourceVersion: '2' },
    };
    expect(
      decide(policyWrite('UPDATE', { oldObject: prodConfig, object: withStatus }, ALICE), snapshot([prodConfig]))
        .allowed,
    ).toBe(true);
    const owned = {
      ...prodConfig,
      metadata: {
        ...prodConfig.metadata,
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'u1' }],
      },
    };
    const gc = {
      username: 'system:serviceaccount:kube-system:generic-garbage-collector',
      groups: ['system:serviceaccounts'],
    };
    expect(
      decide(policyWrite('UPDATE', { oldObject: owned, object: prodConfig }, gc), snapshot([prodConfig])).allowed,
    ).toBe(true);
  });

  it('takes users and service accounts from configuration; system:masters is then not enough', () => {
    const s = snapshotOf({
      policyAdmins: { groups: new Set(), users: new Set(['system:serviceaccount:argocd:controller']) },
    });
    const sa = { username: 'system:serviceaccount:argocd:controller', groups: ['system:serviceaccounts'] };
    expect(decide(policyWrite('CREATE', { object: img('x') }, sa), s).allowed).toBe(true);
    expect(reasons(policyWrite('CREATE', { object: img('x') }), s)).toContain(
      'only the policy admins (user system:serviceaccount:argocd:controller) may create ImagePolicy x',
    );
  });
});

describe('an ImmutabilityPolicy write that loosens existing locks needs an approved UnlockRequest', () => {
  const s = snapshot([prodConfig]);
  const update = (spec: Record<string, unknown>) =>
    policyWrite('UPDATE', {
      oldObject: prodConfig,
      object: imm('prod-config', { match: { namespaces: ['prod'] }, unlock: LEADS, ...spec }),
    });

  it.each<[string, Record<string, unknown>, string]>([
    ['a switch to Audit', { enforcement: 'Audit' }, 'ImmutabilityPolicy prod-config would switch to Audit'],
    ['a switch to Warn', { enforcement: 'Warn' }, 'ImmutabilityPolicy prod-config would switch to Warn'],
    [
      'a new exemption',
      { exemptSubjects: { groups: ['dev'] } },
      'ImmutabilityPolicy prod-config would exempt group dev',
    ],
    [
      'an allowed path',
      { allowedChanges: ['/data/color'] },
      'ImmutabilityPolicy prod-config would let /data/color change',
    ],
    ['no lock on DELETE', { operations: ['UPDATE'] }, 'ImmutabilityPolicy prod-config would stop locking DELETE'],
    [
      'another approver group',
      { unlock: { ...LEADS, approverGroups: ['leads', 'dev'] } },
      'ImmutabilityPolicy prod-config would let group dev approve unlocks',
    ],
  ])('%s is denied, naming the locked object and how', (_name, spec, how) => {
    const v = decide(update(spec), s, { exposed: exposed([appConfig]), now: CREATED_MS });
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toBe(
      `ImmutabilityPolicy prod-config: this change would loosen the protection of locked objects or verified ` +
        `images (ConfigMap prod/app-config: ${how}). A change that loosens protection needs an approved ` +
        `UnlockRequest for ImmutabilityPolicy prod-config (kubectl bulwark unlock request ` +
        `immutabilitypolicy/prod-config --operation UPDATE --reason ...)`,
    );
  });

  it('the same change is allowed when the policy governs nothing locked', () => {
    expect(
      decide(update({ enforcement: 'Audit' }), s, { exposed: exposed([lockedObject('ConfigMap', 'dev', 'other')]) })
        .allowed,
    ).toBe(true);
  });

  it('tightening needs no listing and no agreement', () => {
    expect(decide(update({ unlock: { ...LEADS, approvalsRequired: 3 }, allowedChanges: [] }), s).allowed).toBe(true);
  });

  it('fails closed when the locked objects cannot be listed', () => {
    expect(
      reasons(update({ enforcement: 'Audit' }), s, {
        exposed: { status: 'unavailable', reason: 'cannot list the locked objects it could affect: timeout' },
      }),
    ).toBe(
      'ImmutabilityPolicy prod-config: cannot tell whether this update loosens existing locks, so it is denied ' +
        '(fail closed): cannot list the locked objects it could affect: timeout',
    );
  });

  it('creating a policy as strict as the built-in default needs no listing: it can only add protection', () => {
    expect(
      decide(
        policyWrite('CREATE', {
          object: imm('strict-too', { match: { namespaces: ['prod'] }, message: 'Ask #platform.' }),
        }),
        s,
      ).allowed,
    ).toBe(true);
  });

  it('creating a policy that takes a locked object from the built-in default to Audit is a loosening', () => {
    const audit = imm('prod-audit', { match: { namespaces: ['prod'] }, enforcement: 'Audit' });
    expect(reasons(policyWrite('CREATE', { object: audit }), snapshot(), { exposed: exposed([appConfig]) })).toContain(
      '(ConfigMap prod/app-config: the built-in default would no longer govern it; in its place ' +
        'ImmutabilityPolicy prod-audit would switch to Audit)',
    );
  });

  it('narrowing a match loosens only when what governs instead is looser', () => {
    const narrowed = update({ match: { namespaces: ['prod-eu'] } });
    // the built-in default is as strict
    expect(decide(narrowed, s, { exposed: exposed([appConfig]) }).allowed).toBe(true);
    const withAudit = snapshot([prodConfig, imm('everything-audit', { enforcement: 'Audit' })]);
    expect(reasons(narrowed, withAudit, { exposed: exposed([appConfig]) })).toContain(
      'ImmutabilityPolicy prod-config would no longer govern it; in its place ImmutabilityPolicy ' +
        'everything-audit would switch to Audit',
    );
  });

  it('deleting a policy is a loosening only if what remains is looser', () => {
    expect(decide(policyWrite('DELETE', { oldObject: prodConfig }), s, { exposed: exposed([appConfig]) }).allowed).toBe(
      true,
    );
    const strict = imm('strict', { match: { namespaces: ['prod'] }, unlock: { ...LEADS, approvalsRequired: 3 } });
    expect(
      reasons(policyWrite('DELETE', { oldObject: strict }), snapshot([strict]), { exposed: exposed([appConfig]) }),
    ).toContain(
      'ImmutabilityPolicy strict: this deletion would loosen the protection of locked objects or verified ' +
        'images (ConfigMap prod/app-config: ImmutabilityPolicy strict would no longer govern it; in its place ' +
        'the built-in default would need 2 approvals instead of 3)',
    );
  });

  it(
    'deleting or replacing a policy that slipped in invalid loosens nothing: it never protected anything as ' +
      'written',
    () => {
      const broken = imm('broken', { allowedChanges: ['no-slash'] });
      expect(decide(policyWrite('DELETE', { oldObject: broken }), snapshot()).allowed).toBe(true);
    },
  );

  describe('with an UnlockRequest for the policy', () => {
    const unlock = (
      approvals: { user: string; groups: string[] }[],
      spec: Record<string, unknown> = {},
    ): CompiledUnlock => {
      const r = compiler.unlock(
        unlockRequest(
          'loosen-prod',
          {
            target: { apiVersion: 'bulwark.dev/v1alpha1', kind: 'ImmutabilityPolicy', name: 'prod-config' },
            requester: 'admin',
            ...spec,
          },
          approvals,
        ),
      );
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      return r.unlock;
    };
    const facts = (u: CompiledUnlock): RequestFacts => ({
      exposed: exposed([appConfig]),
      unlocks: [u],
      now: CREATED_MS + 60_000,
    });
    const admins = [
      { user: 'erin', groups: ['policy-admins'] },
      { user: 'frank', groups: ['policy-admins'] },
    ];

    it('approved by two other policy admins, it is allowed with a warning and audit annotations', () => {
      const v = decide(update({ enforcement: 'Audit' }), s, facts(unlock(admins)));
      expect(v.allowed).toBe(true);
      expect(v.warnings[0]).toMatch(
        joinedRegExp(
          /^ImmutabilityPolicy prod-config: this change would loosen .*, and UnlockRequest loosen-prod /,
          /\(requested by admin, approved by erin, frank\) allows it until/,
        ),
      );
      expect(v.auditAnnotations).toMatchObject({
        decision: 'unlocked',
        'unlock-request': 'loosen-prod',
        'policy-governance-loosening':
          'ConfigMap prod/app-config: ImmutabilityPolicy prod-config would switch to Audit',
      });
    });

    it('approved by the policy`s own approver groups, it is allowed too', () => {
      expect(
        decide(
          update({ enforcement: 'Audit' }),
          s,
          facts(
            unlock([
              { user: 'bob', groups: ['leads'] },
              { user: 'carol', groups: ['leads'] },
            ]),
          ),
        ).allowed,
      ).toBe(true);
    });

    it('approvals by anyone else do not count', () => {
      expect(
        reasons(
          update({ enforcement: 'Audit' }),
          s,
          facts(unlock([{ user: 'bob', groups: ['dev'] }, ...admins.slice(1)])),
        ),
      ).toContain(
        'UnlockRequest loosen-prod: it has 1 of the 2 approvals it needs (bob is not in an approver group of ' +
          'the policy admins (system:masters, policy-admins, leads) now)',
      );
    });

    it('an unlock for DELETE does not cover an update', () => {
      expect(reasons(update({ enforcement: 'Audit' }), s, facts(unlock(admins, { operations: ['DELETE'] })))).toContain(
        'UnlockRequest loosen-prod: it does not unlock UPDATE',
      );
    });
  });
});

describe('an ImagePolicy write that loosens image verification needs an approved UnlockRequest', () => {
  const signed = img('signed', { match: { namespaces: ['shop'] } });
  const s = snapshot([], [signed]);

  it.each<[string, AdmissionReviewRequest, string]>([
    [
      'trusting another key',
      policyWrite('UPDATE', {
        oldObject: signed,
        object: img('signed', {
          match: { namespaces: ['shop'] },
          authorities: [
            { name: 'release', key: { publicKey: P256_PUBLIC_KEY } },
            { name: 'mine', key: { secretRef: { namespace: 'shop', name: 'mine' } } },
          ],
        }),
      }),
      'ImagePolicy signed would trust the key in Secret shop/mine (mine)',
    ],
    [
      'switching to Audit',
      policyWrite('UPDATE', {
        oldObject: signed,
        object: img('signed', { match: { namespaces: ['shop'] }, enforcement: 'Audit' }),
      }),
      'ImagePolicy signed would switch to Audit',
    ],
    [
      'applying to fewer namespaces',
      policyWrite('UPDATE', {
        oldObject: signed,
        object: img('signed', { match: { namespaces: ['shop'], namespaceSelector: { matchLabels: { tier: 'web' } } } }),
      }),
      'ImagePolicy signed would apply to fewer namespaces',
    ],
    [
      'deleting it',
      policyWrite('DELETE', { oldObject: signed }),
      'ImagePolicy signed would no longer verify any image',
    ],
  ])('%s is denied', (_name, review, how) => {
    expect(reasons(review, s)).toContain(`(${how})`);
  });

  it('tuning an Audit policy that denies nothing, or creating one, is allowed', () => {
    const audit = img('audit', { enforcement: 'Audit', unmatchedImages: 'Allow' });
    expect(
      decide(
        policyWrite('UPDATE', {
          oldObject: audit,
          object: img('audit', { enforcement: 'Audit', unmatchedImages: 'Allow', images: ['**'] }),
        }),
        s,
      ).allowed,
    ).toBe(true);
    expect(decide(policyWrite('CREATE', { object: img('another') }), s).allowed).toBe(true);
  });
});

describe('namespace relabelling (finding 1)', () => {
  const prodByLabel = imm('prod-config', {
    match: { namespaceSelector: { matchLabels: { env: 'prod' } } },
    unlock: LEADS,
  });
  const devAudit = imm('dev-audit', {
    match: { namespaceSelector: { matchLabels: { env: 'dev' } } },
    enforcement: 'Audit',
  });
  const shopImages = img('shop-images', { match: { namespaceSelector: { matchLabels: { team: 'shop' } } } });
  const s = snapshot([prodByLabel, devAudit], [shopImages]);
  const cm = lockedObject('ConfigMap', 'shop', 'app-config');

  it('env=prod -> env=dev, moving a locked ConfigMap under an Audit policy, is denied naming it', () => {
    const v = decide(namespaceRelabel('shop', { env: 'prod' }, { env: 'dev' }), s, { exposed: exposed([cm]) });
    expect(v.allowed).toBe(false);
    expect(v.reasons[0]).toBe(
      'Namespace shop: this change would loosen the protection of locked objects or verified images (ConfigMap ' +
        'shop/app-config: ImmutabilityPolicy prod-config would no longer govern it; in its place ' +
        'ImmutabilityPolicy dev-audit would switch to Audit). A change that loosens protection needs an ' +
        'approved UnlockRequest for Namespace shop (kubectl bulwark unlock request namespace/shop ' +
        '--operation UPDATE --reason ...)',
    );
  });

  it.each(['status', 'finalize'])(
    'relabelling through namespaces/%s (the apiserver keeps the labels) is judged the same',
    (subResource) => {
      const review = namespaceRelabel('shop', { env: 'prod' }, { env: 'dev' });
      review.request.subResource = subResource;
      expect(reasons(review, s, { exposed: exposed([cm]) })).toContain(
        '(ConfigMap shop/app-config: ImmutabilityPolicy prod-config would no longer govern it',
      );
    },
  );

  it('removing the label an ImagePolicy selects on is denied, even with nothing locked inside', () => {
    expect(reasons(namespaceRelabel('shop', { team: 'shop' }, {}), s, { exposed: exposed([]) })).toContain(
      '(images: ImagePolicy shop-images would no longer apply to namespace shop)',
    );
  });

  it.each<[string, Record<string, string>, Record<string, string>]>([
    ['tightening: env=dev -> env=prod', { env: 'dev' }, { env: 'prod' }],
    ['adding a label that adds an ImagePolicy', { env: 'prod' }, { env: 'prod', team: 'shop' }],
    ['an unrelated label', { env: 'prod' }, { env: 'prod', owner: 'web' }],
  ])('%s is allowed', (_name, before, after) => {
    expect(decide(namespaceRelabel('shop', before, after), s, { exposed: exposed([cm]) }).allowed).toBe(true);
  });

  it('relabelling an empty namespace is allowed', () => {
    expect(decide(namespaceRelabel('shop', { env: 'prod' }, { env: 'dev' }), s, { exposed: exposed([]) }).allowed).toBe(
      true,
    );
  });

  it('fails closed when the namespace`s locked objects cannot be listed', () => {
    expect(
      reasons(namespaceRelabel('shop', { env: 'prod' }, { env: 'dev' }), s, {
        exposed: { status: 'unavailable', reason: 'timeout' },
      }),
    ).toBe(
      'Namespace shop: cannot tell whether changing its labels loosens the locks of what it holds, so it is ' +
        'denied (fail closed): timeout',
    );
  });

  it('is allowed with an UnlockRequest for the Namespace approved by two policy admins', () => {
    const r = compiler.unlock(
      unlockRequest('relabel-shop', { target: { apiVersion: 'v1', kind: 'Namespace', name: 'shop' } }, [
        { user: 'erin', groups: ['policy-admins'] },
        { user: 'frank', groups: ['system:masters'] },
      ]),
    );
    if (!r.ok) throw new Error('invalid');
    const v = decide(namespaceRelabel('shop', { env: 'prod' }, { env: 'dev' }), s, {
      exposed: exposed([cm]),
      unlocks: [r.unlock],
      now: CREATED_MS + 1000,
    });
    expect(v.allowed).toBe(true);
    expect(v.warnings[0]).toContain(
      'UnlockRequest relabel-shop (requested by alice, approved by erin, frank) allows it until',
    );
  });
});
