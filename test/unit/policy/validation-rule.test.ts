// Bulwark validates its own policy objects at admission, naming each problem's path.

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest } from '../../../src/admission/types.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import { imagePolicy, immutabilityPolicy } from '../../helpers/policies.ts';
import { variant } from '../../helpers/reviews.ts';
import { builtinSnapshot } from '../../helpers/snapshots.ts';

/** The captured CREATE of a ConfigMap, turned into the CREATE of `object`. */
function policyCreate(
  object: Record<string, unknown>,
  operation: 'CREATE' | 'UPDATE' = 'CREATE',
): AdmissionReviewRequest {
  return variant('configmap-create-labelled', (r) => {
    const kind = String(object.kind);
    r.request.kind = { group: 'bulwark.dev', version: 'v1alpha1', kind };
    r.request.resource = {
      group: 'bulwark.dev',
      version: 'v1alpha1',
      resource: kind === 'ImagePolicy' ? 'imagepolicies' : 'immutabilitypolicies',
    };
    r.request.requestKind = r.request.kind;
    r.request.requestResource = r.request.resource;
    delete r.request.namespace;
    r.request.name = String((object.metadata as { name: string }).name);
    r.request.operation = operation;
    r.request.object = object;
    r.request.oldObject = operation === 'UPDATE' ? object : null;
    r.request.userInfo = { username: 'admin', groups: ['system:masters', 'system:authenticated'] };
  });
}

/**
 * As a policy admin, in a cluster where nothing is locked (policy authorship and loosening are tested in governance/).
 */
const decide = (review: AdmissionReviewRequest) =>
  reviewRequest({
    request: review.request,
    snapshot: builtinSnapshot(),
    facts: { exposed: { status: 'listed', objects: [], namespaceLabels: new Map() } },
  });

describe('policy validation at admission', () => {
  it('admits a valid policy', () => {
    expect(decide(policyCreate(immutabilityPolicy('ok', { enforcement: 'Warn' }))).allowed).toBe(true);
  });

  it('denies an invalid ImmutabilityPolicy with every problem and its path', () => {
    const verdict = decide(
      policyCreate(
        immutabilityPolicy('bad', {
          allowedChanges: ['spec'],
          match: { namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] } },
        }),
      ),
    );
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons[0]).toBe(
      'ImmutabilityPolicy bad is invalid: spec.match.namespaceSelector.matchExpressions[0].values: must be ' +
        'empty for operator Exists; spec.allowedChanges[0]: "spec" is not a JSON Pointer to a field (it must ' +
        'start with "/", e.g. /spec/replicas; escape "/" in keys as ~1)',
    );
  });

  it('denies an ImagePolicy whose key does not parse, on UPDATE too', () => {
    const verdict = decide(
      policyCreate(
        imagePolicy('keys', {
          images: ['**'],
          authorities: [
            { name: 'k', key: { publicKey: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' } },
          ],
        }),
        'UPDATE',
      ),
    );
    expect(verdict.reasons[0]).toMatch(
      /^ImagePolicy keys is invalid: spec\.authorities\[0\]\.key\.publicKey: cannot be parsed/,
    );
  });

  it('leaves status writes alone', () => {
    const review = policyCreate(immutabilityPolicy('bad', { allowedChanges: ['spec'] }), 'UPDATE');
    review.request.subResource = 'status';
    expect(decide(review).allowed).toBe(true);
  });
});
