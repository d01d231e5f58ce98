// managedFields on a locked object: the apiserver's churn is bookkeeping; what a client
// writes there itself is a change. Forged entries were found to carry any amount of data
// (field sets naming fields the object lacks, Apply entries under invented names) onto a
// locked ConfigMap, kept by the apiserver as sent.

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest, KubeObject } from '../../../src/admission/types.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import { managedFieldsAgree } from '../../../src/diff/managed-fields.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { variant } from '../../helpers/reviews.ts';
import { builtinSnapshot } from '../../helpers/snapshots.ts';

type Entry = Record<string, unknown>;
const entry = (
  manager: string,
  operation: 'Apply' | 'Update',
  fieldsV1: Record<string, unknown>,
  extra: Entry = {},
): Entry => ({
  manager,
  operation,
  apiVersion: 'v1',
  time: '2026-11-29T03:16:46Z',
  fieldsType: 'FieldsV1',
  fieldsV1,
  ...extra,
});

const object: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'cfg',
    labels: { 'bulwark.dev/immutable': 'true' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: 'u-1' }],
  },
  data: { color: 'blue', size: '1' },
};
const created = entry('kubectl-create', 'Update', { 'f:data': { '.': {}, 'f:color': {}, 'f:size': {} } });
const labelled = entry('kubectl-label', 'Update', {
  'f:metadata': { 'f:labels': { '.': {}, 'f:bulwark.dev/immutable': {} } },
});
const agree = (before: Entry[], after: Entry[], fieldManager?: string) =>
  managedFieldsAgree(before, after, { newObject: object, ...(fieldManager ? { fieldManager } : {}) });

describe('managedFields the apiserver writes', () => {
  it('are bookkeeping: times move, the writer`s entry appears or grows, entries lose fields that are gone', () => {
    expect(agree([created, labelled], [{ ...created, time: '2026-11-30T00:00:00Z' }, labelled])).toBe(true);
    expect(agree([created], [created, labelled], 'kubectl-label')).toBe(true);
    expect(
      agree(
        [created, entry('kubectl-label', 'Update', { 'f:metadata': { 'f:labels': { '.': {} } } })],
        [created, labelled],
      ),
    ).toBe(true);
    expect(
      agree([created, labelled], [entry('kubectl-create', 'Update', { 'f:data': { 'f:color': {} } }), labelled]),
    ).toBe(true);
    // The apiserver's merge of old Update entries beyond ten.
    expect(
      agree(
        [created, labelled],
        [
          entry('ancient-changes', 'Update', { 'f:data': { 'f:color': {} } }),
          entry('kubectl', 'Update', { 'f:data': { 'f:size': {} } }),
        ],
      ),
    ).toBe(true);
  });

  it('name list items by key and by value, and a few absent empty values an apply owned', () => {
    const owner = entry('gc', 'Update', {
      'f:metadata': { 'f:ownerReferences': { '.': {}, 'k:{"uid":"u-1"}': { 'f:name': {} } } },
    });
    expect(agree([], [owner])).toBe(true);
    expect(
      agree([], [entry('gc', 'Update', { 'f:metadata': { 'f:ownerReferences': { 'k:{"uid":"u-2"}': {} } } })]),
    ).toBe(false);
    const omitted = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`f:emptyField${i}`, {}]));
    expect(agree([], [entry('kubectl', 'Apply', { ...omitted, 'f:data': { 'f:color': {} } })], 'kubectl')).toBe(true);
  });
});

describe('managedFields of a deeply nested object', () => {
  it('are walked without the call stack (100,000 levels)', () => {
    const depth = 100_000;
    let value: Record<string, unknown> = { leaf: 'x' };
    let fields: Record<string, unknown> = { 'f:leaf': {} };
    for (let i = 0; i < depth; i++) {
      value = { n: value };
      fields = { 'f:n': fields };
    }
    const deep: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'deep' }, data: value as never };
    const owned = entry('kubectl', 'Apply', { 'f:data': fields });
    expect(managedFieldsAgree([owned], [{ ...owned, time: 'later' }], { newObject: deep })).toBe(true);
    expect(managedFieldsAgree([], [owned], { newObject: deep, fieldManager: 'kubectl' })).toBe(true);
  });
});

describe('managedFields a client forges', () => {
  it.each<[string, Entry[], Entry[], string?]>([
    [
      'a field set naming fields the object lacks (data)',
      [created],
      [created, entry('mallory', 'Apply', { 'f:data': { [`f:${'SECRET'.repeat(40)}`]: {} } })],
    ],
    [
      'more absent fields than an apply of empty values explains',
      [created],
      [created, entry('kubectl', 'Apply', Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`f:x${i}`, {}])))],
      'kubectl',
    ],
    [
      'an entry of another manager than the request`s',
      [created],
      [created, entry('mallory', 'Apply', { 'f:data': { 'f:color': {} } })],
      'kubectl',
    ],
    [
      'two new entries in one write',
      [created],
      [created, labelled, entry('other', 'Update', { 'f:data': { 'f:size': {} } })],
    ],
    [
      'an existing entry gaining fields besides the writer`s',
      [created, labelled],
      [
        created,
        entry('kubectl-label', 'Update', { 'f:metadata': { 'f:labels': {} }, 'f:data': { 'f:color': {} } }),
        entry('w', 'Update', { 'f:data': { 'f:size': {} } }),
      ],
    ],
    [
      'an entry at another apiVersion',
      [],
      [entry('m', 'Update', { 'f:data': { 'f:color': {} } }, { apiVersion: 'v2' })],
    ],
    ['a malformed entry', [created], [created, { manager: 'm' }]],
  ])('%s is a change', (_name, before, after, fieldManager) => {
    expect(agree(before, after, fieldManager)).toBe(false);
  });

  it('is named as a change of a locked object, like any other', () => {
    const review: AdmissionReviewRequest = variant('configmap-apply-identical', (r) => {
      const fields = r.request.object!.metadata!.managedFields as Entry[];
      fields.push(entry('mallory', 'Apply', { 'f:data': { 'f:SMUGGLED': {} } }));
    });
    const verdict = reviewRequest({ request: review.request, snapshot: builtinSnapshot(), facts: {} });
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons.join()).toContain('this update would change metadata.managedFields (changed)');
    // The captured server-side apply itself (manager kubectl, the apiserver's entries) stays bookkeeping.
    expect(
      reviewRequest({
        request: loadReview('configmap-apply-identical').request,
        snapshot: builtinSnapshot(),
        facts: {},
      }).allowed,
    ).toBe(true);
  });
});
