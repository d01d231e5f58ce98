// The audit re-seals a change under an unlock only when Bulwark admitted it (issue 14), pure:
// a locked ConfigMap (captured) sealed at A, an UnlockRequest bound to one exact --patch in
// force, and the UnlockedChange records the admitting replicas signed. The attacks: a change
// made while the webhook was away (no record can exist: no key), a record forged without the
// key or signed with another, a genuine record for another object, a record replayed after
// the object went A->B->A, a record an earlier seal already used, one of another unlock.
// The legitimate paths: the approved change, several changes in a row, a change whose later
// write never got stored, an unlabelling under an Unlabel unlock.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/admission/types.ts';
import type { AttestationKeyRing } from '../../../src/attestation/keys.ts';
import { contentHash, signSeal, type SealSpec, type SealedState } from '../../../src/attestation/seal.ts';
import { signUnlockedChange, type UnlockedChangeSpec } from '../../../src/attestation/unlocked-change.ts';
import type { CompiledUnlock } from '../../../src/policy/compile-unlock.ts';
import { auditObject, type AuditInput } from '../../../src/rules/ledger/audit.ts';
import { OTHER_KEYS, TEST_KEYS } from '../../helpers/attestation.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { immutabilityPolicy } from '../../helpers/policies.ts';
import { oldObjectOf } from '../../helpers/reviews.ts';
import { compiler, policyStore } from '../../helpers/snapshots.ts';
import { CREATED_MS, unlockRequest } from '../../helpers/unlock.ts';

const GROUPS = ['dev', 'approvers', 'system:authenticated'];
const store = policyStore({ sources: [] });
store.upsert(
  'ImmutabilityPolicy',
  immutabilityPolicy('locks', {
    unlock: { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h' },
  }),
);

const base = (): KubeObject => oldObjectOf(loadReview('configmap-apply-changed'));
const uid = base().metadata!.uid as string;
const target = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'demo', name: 'app-config', uid };
/** The object in state `color`, stored at resourceVersion `rv`. */
const stateOf = (color: string, rv: string): KubeObject =>
  ({ ...base(), metadata: { ...base().metadata, resourceVersion: rv }, data: { color } }) as KubeObject;
const hashOf = (color: string) => contentHash(stateOf(color, '0'));
const A = 'blue';
const B = 'red';
const C = 'green';

const sealAt = (color: string, extra: Partial<SealedState> = {}, history: SealedState[] = []): SealSpec =>
  signSeal(TEST_KEYS, {
    target,
    current: { hash: hashOf(color), at: '2026-11-25T09:00:00Z', reason: 'locked', ...extra },
    history,
  });

const PATCH = [{ op: 'replace', path: '/data/color', value: B }];
const by = (user: string) => ({ user, groups: GROUPS });
function compiled(name: string, spec: Record<string, unknown>): CompiledUnlock {
  const r = compiler.unlock(unlockRequest(name, spec, [by('bob'), by('carol')]));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.unlock;
}
const patchBound = () => compiled('ur-patch', { change: { patch: PATCH } });

let seq = 0;
/** A record as the admitting replica writes it: `from` -> `to` over resourceVersion `rv`, `minutes` into the unlock. */
function record(
  from: string,
  to: string,
  rv: string,
  minutes: number,
  options: { keys?: AttestationKeyRing; uid?: string; unlock?: string } = {},
): UnlockedChangeSpec {
  seq += 1;
  return signUnlockedChange(options.keys ?? TEST_KEYS, {
    requestUid: `req-${seq}`,
    user: 'alice',
    groups: GROUPS,
    at: new Date(CREATED_MS + minutes * 60_000).toISOString(),
    target: {
      group: '',
      version: 'v1',
      kind: 'ConfigMap',
      namespace: 'demo',
      name: 'app-config',
      uid: options.uid ?? uid,
    },
    unlock: { kind: 'UnlockRequest', name: options.unlock ?? 'ur-patch' },
    from: hashOf(from),
    to: hashOf(to),
    fromResourceVersion: rv,
  });
}

function audit(input: Partial<AuditInput>) {
  return auditObject({
    target,
    snapshot: store.snapshot(),
    keys: TEST_KEYS,
    unlocks: [patchBound()],
    namespaceLabels: {},
    now: CREATED_MS + 20 * 60_000,
    ...input,
  });
}
const changedTo = (color: string, rv: string, records: UnlockedChangeSpec[], seal = sealAt(A)) =>
  audit({ object: stateOf(color, rv), seal, unlockedChanges: { records } });
const drift = (why: string) => ({
  kind: 'drift',
  reason: 'changed-outside-unlock',
  message: expect.stringContaining(why),
});

describe('a change under an unlock is re-sealed only when Bulwark admitted it', () => {
  it('re-seals the approved change, linked to the request, its requester, approvers and who changed it', () => {
    const r = record(A, B, '10', 5);
    expect(changedTo(B, '11', [r])).toMatchObject({
      kind: 'seal',
      seal: {
        current: {
          reason: 'unlocked',
          hash: hashOf(B),
          unlockRequest: 'ur-patch',
          approvers: ['bob', 'carol'],
          unlock: { kind: 'UnlockRequest', name: 'ur-patch', requester: 'alice' },
          changedBy: { user: 'alice', groups: GROUPS, requestUid: r.requestUid, at: r.at },
          records: [r.requestUid],
        },
        history: [{ hash: hashOf(A) }],
      },
    });
  });

  it('a change made while the webhook was away, in the unlock`s window, is drift (no record)', () => {
    // Not even the approved patch's result: admission never saw it.
    expect(changedTo(C, '11', [])).toMatchObject(
      drift(`changed while UnlockRequest ur-patch allowed it, but not through Bulwark`),
    );
    expect(changedTo(C, '11', [record(A, B, '10', 5)])).toMatchObject(drift('do not lead from the sealed state'));
  });

  it('a record forged without the key, or signed with another key, counts for nothing', () => {
    const forged = { ...record(A, C, '10', 5), attestation: { keyId: 'k', mac: 'AAAA' } };
    expect(changedTo(C, '11', [forged])).toMatchObject(drift("1 record(s) naming it are not Bulwark's"));
    expect(changedTo(C, '11', [record(A, C, '10', 5, { keys: OTHER_KEYS })])).toMatchObject(
      drift("are not Bulwark's (forged or altered)"),
    );
    // An altered genuine one: its MAC no longer matches.
    const altered = { ...record(A, B, '10', 5), to: hashOf(C) };
    expect(changedTo(C, '11', [altered])).toMatchObject(drift("are not Bulwark's"));
  });

  it('a genuine record of another object (another uid, same name) does not count', () => {
    expect(changedTo(B, '11', [record(A, B, '10', 5, { uid: 'an-earlier-app-config' })])).toMatchObject({
      kind: 'drift',
      reason: 'changed-outside-unlock',
    });
  });

  it('a record replayed after A->B->A is drift; the same change admitted again re-seals', () => {
    const there = record(A, B, '10', 5);
    const back = record(B, A, '11', 6);
    // The attacker writes B again (resourceVersion 13) while the webhook is away.
    expect(changedTo(B, '13', [there, back])).toMatchObject(drift('or it left that state since'));
    // The way back made under another unlock, no longer in force, is evidence all the same.
    expect(changedTo(B, '13', [there, record(B, A, '11', 6, { unlock: 'ur-expired' })])).toMatchObject(
      drift('or it left that state since'),
    );
    // Admitted again (over resourceVersion 12): its own record explains the live B.
    const again = record(A, B, '12', 7);
    expect(changedTo(B, '13', [there, back, again])).toMatchObject({
      kind: 'seal',
      seal: { current: { hash: hashOf(B), records: [there.requestUid, back.requestUid, again.requestUid] } },
    });
  });

  it('a record an earlier seal used never counts again', () => {
    const there = record(A, B, '10', 5);
    const seal = sealAt(A, { reason: 'unlocked', records: [] }, [
      { hash: hashOf(B), at: '2026-11-25T10:06:00Z', reason: 'unlocked', records: [there.requestUid] },
    ]);
    expect(changedTo(B, '13', [there], seal)).toMatchObject(drift('1 record(s) were used by an earlier seal'));
  });

  it('a record of another unlock, or of this one before it existed, does not count', () => {
    expect(changedTo(B, '11', [record(A, B, '10', 5, { unlock: 'ur-other' })])).toMatchObject(
      drift('name no unlock in force at their time'),
    );
    expect(changedTo(B, '11', [record(A, B, '10', -10)])).toMatchObject(drift('name no unlock in force'));
  });

  it('follows several admitted changes, and one whose write was never stored, to the live state', () => {
    const toB = record(A, B, '10', 5);
    const toC = record(B, C, '11', 6);
    expect(changedTo(C, '12', [toB, toC])).toMatchObject({
      kind: 'seal',
      seal: { current: { hash: hashOf(C), records: [toB.requestUid, toC.requestUid] } },
    });
    // Admitted B->blue over the live resourceVersion 11, then refused by a later webhook.
    expect(changedTo(B, '11', [toB, record(B, A, '11', 6)])).toMatchObject({ kind: 'seal' });
    // Two writes from one stored state: only one was stored.
    expect(changedTo(C, '12', [toB, record(B, 'yellow', '11', 6), toC])).toMatchObject({ kind: 'seal' });
  });

  it('fails closed when the records cannot be read', () => {
    expect(
      audit({ object: stateOf(B, '11'), seal: sealAt(A), unlockedChanges: { unavailable: 'HTTP 403' } }),
    ).toMatchObject(drift('cannot be read: HTTP 403'));
  });

  it('an unlabelling under an Unlabel unlock releases the seal only with its record', () => {
    const unlabel = compiled('ur-unlabel', { operations: ['Unlabel'] });
    const bare = stateOf(A, '11');
    bare.metadata!.labels = {};
    const r = {
      ...record(A, A, '10', 5, { unlock: 'ur-unlabel' }),
    };
    const signed = signUnlockedChange(TEST_KEYS, {
      ...(({ attestation: _, ...rest }) => rest)(r),
      to: contentHash(bare),
    });
    expect(
      audit({ object: bare, seal: sealAt(A), unlocks: [unlabel], unlockedChanges: { records: [signed] } }),
    ).toEqual({ kind: 'release' });
    expect(
      audit({ object: bare, seal: sealAt(A), unlocks: [unlabel], unlockedChanges: { records: [] } }),
    ).toMatchObject(drift('unlabelled while UnlockRequest ur-unlabel allowed it'));
  });

  it('without any unlock in force a change is plain drift, as before', () => {
    expect(audit({ object: stateOf(B, '11'), seal: sealAt(A), unlocks: [] })).toMatchObject({
      kind: 'drift',
      reason: 'changed',
    });
  });
});
