// Deletion guards: a Namespace or CRD that still holds locked objects is not deleted.

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest } from '../../../src/admission/types.ts';
import type { RequestFacts } from '../../../src/decision/facts.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import { variant } from '../../helpers/reviews.ts';
import { builtinSnapshot } from '../../helpers/snapshots.ts';
import { joinedRegExp } from '../../helpers/regexp.ts';

function namespaceDelete(): AdmissionReviewRequest {
  return variant('configmap-delete-unlabelled', (r) => {
    r.request.kind = { group: '', version: 'v1', kind: 'Namespace' };
    r.request.resource = { group: '', version: 'v1', resource: 'namespaces' };
    r.request.name = 'team-a';
    r.request.namespace = 'team-a';
    r.request.oldObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } };
  });
}

function crdDelete(): AdmissionReviewRequest {
  return variant('configmap-delete-unlabelled', (r) => {
    r.request.kind = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' };
    r.request.resource = { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions' };
    r.request.name = 'widgets.e2e.bulwark.dev';
    delete r.request.namespace;
    r.request.oldObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.e2e.bulwark.dev' },
    };
  });
}

const decide = (review: AdmissionReviewRequest, facts: RequestFacts) =>
  reviewRequest({ request: review.request, snapshot: builtinSnapshot(), facts });

describe('deletion guards', () => {
  it('deny a namespace that holds locked objects, naming them', () => {
    const v = decide(namespaceDelete(), {
      lockedContents: { status: 'listed', objects: ['ConfigMap app-config', 'Secret db'], more: true },
    });
    expect(v.reasons).toEqual([
      'Namespace team-a still holds locked objects (ConfigMap app-config, Secret db, and more): deleting the ' +
        'namespace would try to delete them, be denied, and leave it stuck Terminating. Unlock them ' +
        '(UnlockRequest) or remove their lock label with an approved unlock first',
    ]);
  });

  it('deny a CRD whose objects are locked', () => {
    const v = decide(crdDelete(), { lockedContents: { status: 'listed', objects: ['Widget demo/gear'], more: false } });
    expect(v.reasons[0]).toMatch(
      joinedRegExp(
        /^CustomResourceDefinition widgets\.e2e\.bulwark\.dev still holds locked objects \(Widget /,
        /demo\/gear\): deleting the CRD would delete them without asking any admission webhook/,
      ),
    );
  });

  it('allow when nothing locked remains', () => {
    expect(decide(namespaceDelete(), { lockedContents: { status: 'listed', objects: [], more: false } }).allowed).toBe(
      true,
    );
  });

  it('fail closed when the listing fails or was not done', () => {
    expect(decide(crdDelete(), { lockedContents: { status: 'unavailable', reason: 'HTTP 503' } }).reasons[0]).toMatch(
      /cannot check whether CustomResourceDefinition .* \(fail closed\): HTTP 503/,
    );
    expect(decide(namespaceDelete(), {}).allowed).toBe(false);
  });
});
