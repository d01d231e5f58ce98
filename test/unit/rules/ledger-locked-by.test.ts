// Who locked it (issue 14), pure: the record the admitting replica makes from a real
// AdmissionReview (captured from the apiserver), and the seal's choice among records. The
// attacks: a record made without Bulwark's key, one copied onto another object, one for
// other content, a stale one; none of them may name anybody.

import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, KubeObject } from '../../../src/admission/types.ts';
import {
  attributionOf,
  checkAttribution,
  signAttribution,
  type LockAttributionSpec,
} from '../../../src/attestation/attribution.ts';
import { contentHash, reseal } from '../../../src/attestation/seal.ts';
import { auditObject } from '../../../src/rules/ledger/audit.ts';
import { ATTRIBUTION_WINDOW_MS, labelManager, lockedByOf } from '../../../src/rules/ledger/locked-by.ts';
import { OTHER_KEYS, TEST_KEYS } from '../../helpers/attestation.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { variant } from '../../helpers/reviews.ts';
import { policyStore } from '../../helpers/snapshots.ts';

const LABEL = { key: 'bulwark.dev/immutable', value: 'true' };
const AT_MS = Date.parse('2026-11-25T12:45:21Z');
const at = (ms: number) => new Date(ms).toISOString();

const created = loadReview('configmap-create-labelled').request;
const object = created.object as KubeObject;
const target = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  namespace: 'demo',
  name: 'app-config',
  uid: object.metadata!.uid as string,
};

const recordOf = (request: AdmissionRequest, ring = TEST_KEYS, when = AT_MS): LockAttributionSpec =>
  signAttribution(ring, attributionOf(request, LABEL, at(when))!);

const choose = (records: LockAttributionSpec[], now = AT_MS + 5_000, o = object) =>
  lockedByOf({
    target,
    object: o,
    hash: contentHash(o),
    lockLabel: LABEL,
    attributions: { records },
    keys: TEST_KEYS,
    now,
  });

describe('the attribution record', () => {
  it('records the CREATE that locks: uid, user and groups, object, label change, content', () => {
    expect(attributionOf(created, LABEL, at(AT_MS))).toEqual({
      requestUid: created.uid,
      operation: 'CREATE',
      user: 'alice',
      groups: ['dev', 'approvers', 'system:authenticated'],
      at: '2026-11-25T12:45:21.000Z',
      target: { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'demo', name: 'app-config', uid: target.uid },
      label: { key: LABEL.key, value: LABEL.value },
      hash: contentHash(object),
    });
  });

  it('records an UPDATE that adds the label, with the value it had; nothing else is a lock', () => {
    const added = loadReview('configmap-label-added').request;
    expect(attributionOf(added, LABEL, at(AT_MS))).toMatchObject({ operation: 'UPDATE', label: { value: 'true' } });
    const flipped = variant('configmap-label-added', (r) => {
      r.request.oldObject!.metadata!.labels![LABEL.key] = 'false';
    }).request;
    expect(attributionOf(flipped, LABEL, at(AT_MS))?.label).toEqual({ ...LABEL, from: 'false' });
    for (const name of ['configmap-apply-changed', 'configmap-label-removed', 'configmap-delete-labelled'])
      expect(attributionOf(loadReview(name).request, LABEL, at(AT_MS))).toBeUndefined();
    const status = variant('configmap-create-labelled', (r) => {
      r.request.subResource = 'status';
    }).request;
    expect(attributionOf(status, LABEL, at(AT_MS))).toBeUndefined();
  });

  it('checks only with Bulwark`s key, and not once edited', () => {
    expect(checkAttribution(TEST_KEYS, recordOf(created))).toEqual({ ok: true });
    expect(checkAttribution(TEST_KEYS, recordOf(created, OTHER_KEYS)).ok).toBe(false);
    expect(checkAttribution(TEST_KEYS, { ...recordOf(created), user: 'admin' }).ok).toBe(false);
    const bare = { ...recordOf(created) } as Partial<LockAttributionSpec>;
    delete bare.attestation;
    expect(checkAttribution(TEST_KEYS, bare as LockAttributionSpec)).toEqual({
      ok: false,
      why: 'it carries no attestation',
    });
  });
});

describe('who the seal names', () => {
  it('the author of the genuine record for this object and content; the newest of several', () => {
    expect(choose([recordOf(created)])).toEqual({
      user: 'alice',
      groups: ['dev', 'approvers', 'system:authenticated'],
      requestUid: created.uid,
      at: '2026-11-25T12:45:21.000Z',
    });
    const byBob = variant('configmap-create-labelled', (r) => {
      r.request.uid = 'later';
      r.request.userInfo = { username: 'bob', groups: ['dev'] };
    }).request;
    expect(choose([recordOf(created), recordOf(byBob, TEST_KEYS, AT_MS + 1_000)]).user).toBe('bob');
  });

  it('never a forged, copied, stale or other-content record: unknown, why, and the client that set the label', () => {
    const forged = { ...recordOf(created), user: 'admin' };
    const elsewhere = recordOf(
      variant('configmap-create-labelled', (r) => {
        r.request.object!.metadata!.name = 'other';
      }).request,
    );
    const stale = recordOf(created, TEST_KEYS, AT_MS - ATTRIBUTION_WINDOW_MS - 10_000);
    const otherContent = { ...object, data: { color: 'red' } } as KubeObject;
    for (const [records, o] of [
      [[forged], object],
      [[elsewhere], object],
      [[stale], object],
      [[recordOf(created)], otherContent],
    ] as const) {
      const by = choose([...records], AT_MS + 5_000, o);
      expect(by).toMatchObject({ user: 'unknown', fieldManager: 'kubectl-client-side-apply' });
      expect(by.why).toContain('Bulwark recorded no lock of this object in the last 15 minutes');
    }
    expect(choose([forged]).why).toMatch(/^1 record\(s\) naming this object are not Bulwark's/);
  });

  it('says when the records could not be read or were not looked up', () => {
    const base = { target, object, hash: contentHash(object), lockLabel: LABEL, keys: TEST_KEYS, now: AT_MS };
    expect(lockedByOf({ ...base, attributions: { unavailable: 'HTTP 403' } }).why).toBe(
      'the attribution records could not be read: HTTP 403',
    );
    expect(lockedByOf({ ...base, attributions: undefined }).why).toBe('no attribution records were looked up');
  });

  it('finds the manager that owns the lock label in managedFields', () => {
    expect(labelManager(object, LABEL.key)).toBe('kubectl-client-side-apply');
    expect(labelManager(object, 'absent')).toBeUndefined();
    expect(labelManager({ metadata: {} } as KubeObject, LABEL.key)).toBeUndefined();
  });

  it('a first seal carries it (signed with the rest); a re-seal keeps it', () => {
    const outcome = auditObject({
      target,
      object,
      snapshot: policyStore({ sources: [] }).snapshot(),
      keys: TEST_KEYS,
      unlocks: [],
      attributions: { records: [recordOf(created)] },
      now: AT_MS + 5_000,
    });
    expect(outcome).toMatchObject({ kind: 'seal', seal: { lockedBy: { user: 'alice', requestUid: created.uid } } });
    if (outcome.kind !== 'seal') throw new Error('sealed');
    const next = reseal(outcome.seal, { hash: 'sha256:next', at: at(AT_MS + 9_000), reason: 'unlocked' });
    expect(next.lockedBy).toEqual(outcome.seal.lockedBy);
  });
});
