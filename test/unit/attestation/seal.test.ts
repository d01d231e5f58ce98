// Seals (issue 14), the pure part: the content hash follows the diff's normalisation
// (status and the apiserver's bookkeeping are not content; numbers are exact), and a
// seal edited by anyone without Bulwark's key is detected.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/admission/types.ts';
import {
  checkSeal,
  contentHash,
  reseal,
  SEAL_HISTORY,
  signSeal,
  type SealSpec,
} from '../../../src/attestation/seal.ts';
import { parseJson } from '../../../src/json/parse.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { oldObjectOf } from '../../helpers/reviews.ts';
import { OTHER_KEYS, TEST_KEYS } from '../../helpers/attestation.ts';

const locked = (): KubeObject => oldObjectOf(loadReview('configmap-apply-changed'));

describe('the content hash', () => {
  it('ignores status, the apiserver`s bookkeeping and the bookkeeping annotations', () => {
    const object = locked();
    const touched = structuredClone(object) as KubeObject & { status?: unknown };
    touched.status = { observed: 1 };
    touched.metadata!.resourceVersion = '999';
    touched.metadata!.generation = 7;
    touched.metadata!.managedFields = [];
    touched.metadata!.annotations = {
      ...touched.metadata!.annotations,
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
    };
    expect(contentHash(touched)).toBe(contentHash(object));
    expect(contentHash(object)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('changes with the data, the labels (the lock label too) and the key order never', () => {
    const object = locked();
    const changed = structuredClone(object) as KubeObject & { data: Record<string, string> };
    changed.data.color = 'changed';
    expect(contentHash(changed)).not.toBe(contentHash(object));
    const unlabelled = structuredClone(object);
    unlabelled.metadata!.labels = {};
    expect(contentHash(unlabelled)).not.toBe(contentHash(object));
    const reordered = Object.fromEntries(Object.entries(object).reverse()) as KubeObject;
    expect(contentHash(reordered)).toBe(contentHash(object));
  });

  it('compares numbers exactly, as the diff does', () => {
    const a = parseJson('{"kind":"X","metadata":{"name":"n"},"spec":{"n":9007199254740993}}') as KubeObject;
    const b = parseJson('{"kind":"X","metadata":{"name":"n"},"spec":{"n":9007199254740992}}') as KubeObject;
    const c = parseJson('{"kind":"X","metadata":{"name":"n"},"spec":{"n":9007199254740992.0}}') as KubeObject;
    expect(contentHash(a)).not.toBe(contentHash(b));
    expect(contentHash(b)).toBe(contentHash(c));
  });
});

describe('a seal', () => {
  const unsigned = () => ({
    target: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'demo', name: 'app-config', uid: 'u-1' },
    current: { hash: contentHash(locked()), at: '2026-11-29T05:00:00Z', reason: 'locked' as const },
    history: [],
  });

  it('checks with Bulwark`s key', () => {
    expect(checkSeal(TEST_KEYS, signSeal(TEST_KEYS, unsigned()))).toEqual({ ok: true });
  });

  it('edited by anyone without the key (the hash, the history, the target) is detected', () => {
    const seal = signSeal(TEST_KEYS, unsigned());
    const edits: ((s: SealSpec) => void)[] = [
      (s) => {
        s.current.hash = contentHash({ kind: 'ConfigMap', metadata: { name: 'other' } });
      },
      (s) => {
        s.history.push({ hash: 'sha256:00', at: '2026-01-01T00:00:00Z', reason: 'locked' });
      },
      (s) => {
        s.target.uid = 'u-2';
      },
    ];
    for (const edit of edits) {
      const tampered = structuredClone(seal);
      edit(tampered);
      expect(checkSeal(TEST_KEYS, tampered)).toEqual({ ok: false, why: 'its MAC does not match (forged or altered)' });
    }
    expect(checkSeal(TEST_KEYS, signSeal(OTHER_KEYS, unsigned())).ok).toBe(false);
    expect(checkSeal(TEST_KEYS, { ...seal, attestation: undefined as never })).toEqual({
      ok: false,
      why: 'it carries no attestation',
    });
  });

  it('keeps the last sealed states, newest first, for rollback', () => {
    let seal = unsigned() as Omit<SealSpec, 'attestation'>;
    for (let i = 0; i < SEAL_HISTORY + 5; i++)
      seal = reseal(seal, {
        hash: `sha256:${i}`,
        at: '2026-11-29T06:00:00Z',
        reason: 'unlocked',
        unlockRequest: `u${i}`,
      });
    expect(seal.current.hash).toBe(`sha256:${SEAL_HISTORY + 4}`);
    expect(seal.history).toHaveLength(SEAL_HISTORY);
    expect(seal.history[0]!.hash).toBe(`sha256:${SEAL_HISTORY + 3}`);
  });
});
