// The APIService guard: pointing a group/version at another server changes how its
// locked objects read (that server answers reads and takes writes no admission here
// sees), without writing any of them. Found on the real apiserver: alice patched the
// local APIService v1.example.com to a Service of hers, and a locked Gadget no longer
// read from etcd. Denied while locked objects of the group exist, unless approved.

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest, KubeObject, Operation } from '../../../../src/admission/types.ts';
import type { RequestFacts } from '../../../../src/decision/facts.ts';
import { reviewRequest } from '../../../../src/review/review.ts';
import { isApiServiceRerouting } from '../../../../src/rules/guards/apiservice.ts';
import { variant } from '../../../helpers/reviews.ts';
import { CREATED_MS, unlockRequest } from '../../../helpers/unlock.ts';
import { builtinSnapshot, compiler } from '../../../helpers/snapshots.ts';

const local = (spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apiregistration.k8s.io/v1',
  kind: 'APIService',
  metadata: { name: 'v1.example.com', labels: { 'kube-aggregator.kubernetes.io/automanaged': 'true' } },
  spec: { group: 'example.com', version: 'v1', groupPriorityMinimum: 1000, versionPriority: 100, ...spec },
});
const remote = (name = 'evil', extra: Record<string, unknown> = {}) =>
  local({ service: { namespace: 'shop', name, port: 443 }, insecureSkipTLSVerify: true, ...extra });

function write(
  operation: Exclude<Operation, 'CONNECT' | 'DELETE'>,
  object: KubeObject,
  oldObject?: KubeObject,
): AdmissionReviewRequest {
  return variant('configmap-apply-changed', (r) => {
    r.request.kind = { group: 'apiregistration.k8s.io', version: 'v1', kind: 'APIService' };
    r.request.resource = { group: 'apiregistration.k8s.io', version: 'v1', resource: 'apiservices' };
    r.request.requestKind = r.request.kind;
    r.request.requestResource = r.request.resource;
    r.request.name = 'v1.example.com';
    delete r.request.namespace;
    r.request.operation = operation;
    r.request.object = object;
    r.request.oldObject = oldObject ?? null;
  });
}

const decide = (review: AdmissionReviewRequest, facts: RequestFacts) =>
  reviewRequest({ request: review.request, snapshot: builtinSnapshot(), facts });
const holding = (...objects: string[]): RequestFacts => ({
  lockedContents: { status: 'listed', objects, more: false },
});

describe('which APIService writes route a group/version away from this apiserver', () => {
  it.each<[string, AdmissionReviewRequest, boolean]>([
    ['a local one pointed at a Service', write('UPDATE', remote(), local()), true],
    ['a remote one pointed at another Service', write('UPDATE', remote('other'), remote()), true],
    ['a new remote one', write('CREATE', remote()), true],
    ['a remote one made local again', write('UPDATE', local(), remote()), false],
    [
      'a new caBundle for the same server',
      write('UPDATE', remote('evil', { insecureSkipTLSVerify: false, caBundle: 'Q0E=' }), remote()),
      false,
    ],
    ['priorities of a local one', write('UPDATE', local({ versionPriority: 15 }), local()), false],
    ['a new local one (a CRD version, registered by the apiserver)', write('CREATE', local()), false],
  ])('%s: %s', (_name, review, expected) => {
    expect(isApiServiceRerouting(review.request)).toBe(expected);
  });
});

describe('the APIService guard', () => {
  it('denies rerouting while locked objects of the group exist, naming them and the server', () => {
    const v = decide(write('UPDATE', remote(), local()), holding('Gadget shop/g'));
    expect(v.allowed).toBe(false);
    expect(v.reasons.join()).toBe(
      'APIService v1.example.com: this change would have Service shop/evil serve example.com/v1 instead of this ' +
        'apiserver, while locked objects of group example.com exist (Gadget shop/g): they would read as that ' +
        'server says, and writes to them would reach it without this apiserver`s admission. An UnlockRequest ' +
        'for the APIService (kubectl bulwark unlock request apiservice/v1.example.com --operation UPDATE ' +
        '--reason ...) must be approved first',
    );
  });

  it('allows it when the group holds no locked objects; denies when that cannot be told (fail closed)', () => {
    expect(decide(write('UPDATE', remote(), local()), holding()).allowed).toBe(true);
    const unknown = decide(write('UPDATE', remote(), local()), {
      lockedContents: { status: 'unavailable', reason: 'timeout' },
    });
    expect(unknown.allowed).toBe(false);
    expect(unknown.reasons.join()).toContain(
      'cannot check whether group example.com holds objects labelled bulwark.dev/immutable=true, so this change ' +
        'is denied (fail closed): timeout',
    );
  });

  it('lets an approved UnlockRequest for the APIService through (policy admins approve, as for a CRD)', () => {
    const compiled = compiler.unlock(
      unlockRequest(
        'reroute',
        { target: { apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', name: 'v1.example.com' } },
        [
          { user: 'bob', groups: ['system:masters'] },
          { user: 'carol', groups: ['system:masters'] },
        ],
      ),
    );
    if (!compiled.ok) throw new Error(JSON.stringify(compiled));
    const v = decide(write('UPDATE', remote(), local()), {
      ...holding('Gadget shop/g'),
      unlocks: [compiled.unlock],
      now: CREATED_MS + 60_000,
    });
    expect(v.allowed, v.reasons.join()).toBe(true);
    expect(v.warnings.join()).toContain('UnlockRequest reroute (requested by alice, approved by bob, carol)');
  });
});
