// Kubernetes' own controllers at work on locked objects, on reviews captured from the real
// controllers of the full cluster (npm run capture-controller-fixtures): each may make its
// own write and nothing more, and nobody else may make it. The attack is always the same:
// the controller's write with something added, or the same write by someone else.

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest, KubeObject } from '../../../../src/admission/types.ts';
import type { RequestFacts } from '../../../../src/decision/facts.ts';
import { reviewRequest } from '../../../../src/review/review.ts';
import { builtinSnapshot } from '../../../helpers/snapshots.ts';
import { loadReview } from '../../../helpers/fixtures.ts';
import { objectOf, oldObjectOf, variant } from '../../../helpers/reviews.ts';

const decide = (review: AdmissionReviewRequest, facts: RequestFacts = {}) =>
  reviewRequest({ request: review.request, snapshot: builtinSnapshot(), facts });
const as = (name: string, username: string) =>
  variant(name, (r) => {
    r.request.userInfo = { ...r.request.userInfo, username };
  });
const edit = (name: string, change: (object: KubeObject) => void) => variant(name, (r) => change(objectOf(r)));
const ALICE = 'alice';
const KCM = 'system:kube-controller-manager';

describe('captured controller writes to locked objects are allowed', () => {
  it.each([
    'controller-replicaset-scale-by-deployment-controller',
    'controller-pod-delete-by-replicaset-controller',
    'controller-pod-delete-terminating-by-kubelet',
    'controller-pod-finalizer-removed-by-job-controller',
    'controller-endpointslice-update-by-endpointslice-controller',
    'controller-endpoints-update-by-endpoint-controller',
    'controller-pv-bind-by-persistent-volume-binder',
    'controller-pvc-bind-by-persistent-volume-binder',
    'controller-service-status-finalizer-by-service-controller',
    'controller-replicaset-delete-by-garbage-collector',
  ])('%s', (name) => {
    const review = loadReview(name);
    expect(review.request.oldObject?.metadata?.labels?.['bulwark.dev/immutable']).toBe('true');
    const verdict = decide(review);
    expect(verdict.reasons).toEqual([]);
    expect(verdict.allowed).toBe(true);
  });

  it("the same controllers under kube-controller-manager's shared identity", () => {
    for (const name of [
      'controller-replicaset-scale-by-deployment-controller',
      'controller-pod-delete-by-replicaset-controller',
      'controller-pvc-bind-by-persistent-volume-binder',
      'controller-endpointslice-update-by-endpointslice-controller',
    ]) {
      expect(decide(as(name, KCM)).allowed, name).toBe(true);
    }
  });

  it("records why a deletion was the object's lifecycle", () => {
    const verdict = decide(loadReview('controller-pod-delete-by-replicaset-controller'));
    expect(verdict.outcomes).toContainEqual({ rule: 'immutability', decision: 'lifecycle' });
    expect(verdict.auditAnnotations['immutability-lifecycle']).toMatch(
      /^Pod \S+: ReplicaSet web-\w+'s controller \(replicaset-controller\) manages its replicas$/,
    );
  });
});

describe('the same writes by anyone else are denied', () => {
  it.each([
    ['controller-replicaset-scale-by-deployment-controller', /spec\.replicas \(changed\)/],
    [
      'controller-pod-delete-by-replicaset-controller',
      /cannot be deleted; it is a replica of ReplicaSet web-\w+, which replaces it: evict it instead/,
    ],
    ['controller-pod-finalizer-removed-by-job-controller', /metadata\.finalizers/],
    ['controller-endpointslice-update-by-endpointslice-controller', /endpoints/],
    ['controller-endpoints-update-by-endpoint-controller', /subsets/],
    ['controller-pv-bind-by-persistent-volume-binder', /spec\.claimRef/],
    ['controller-pvc-bind-by-persistent-volume-binder', /spec\.volumeName \(added\)/],
    ['controller-service-status-finalizer-by-service-controller', /metadata\.finalizers/],
    ['controller-replicaset-delete-by-garbage-collector', /cannot be deleted/],
  ])('%s by alice', (name, reason) => {
    const verdict = decide(as(name, ALICE));
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons.join('; ')).toMatch(reason);
  });

  it(
    "another controller's identity does not do: the job controller cannot " +
      'scale a ReplicaSet, the replica set controller cannot bind a claim',
    () => {
      expect(
        decide(
          as(
            'controller-replicaset-scale-by-deployment-controller',
            'system:serviceaccount:kube-system:job-controller',
          ),
        ).allowed,
      ).toBe(false);
      expect(
        decide(
          as(
            'controller-pvc-bind-by-persistent-volume-binder',
            'system:serviceaccount:kube-system:replicaset-controller',
          ),
        ).allowed,
      ).toBe(false);
      expect(
        decide(
          as(
            'controller-pod-delete-by-replicaset-controller',
            'system:serviceaccount:kube-system:deployment-controller',
          ),
        ).allowed,
      ).toBe(false);
      // A service account of that name in another namespace is somebody else.
      expect(
        decide(
          as('controller-pod-delete-by-replicaset-controller', 'system:serviceaccount:default:replicaset-controller'),
        ).allowed,
      ).toBe(false);
    },
  );
});

describe("a controller's write with something more is denied", () => {
  it('the deployment controller scaling a ReplicaSet cannot change its pod template', () => {
    const review = edit('controller-replicaset-scale-by-deployment-controller', (rs) => {
      (rs.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]!.image =
        'evil.example.com/app:1';
    });
    expect(decide(review).reasons.join()).toMatch(/spec\.template\.spec\.containers\[0\]\.image \(changed\)/);
  });

  it('the job controller may remove its tracking finalizer, not another, and not change labels', () => {
    const other = variant('controller-pod-finalizer-removed-by-job-controller', (r) => {
      oldObjectOf(r).metadata!.finalizers = ['batch.kubernetes.io/job-tracking', 'example.com/keep'];
      objectOf(r).metadata!.finalizers = ['batch.kubernetes.io/job-tracking'];
    });
    expect(decide(other).allowed).toBe(false);
    const relabel = edit('controller-pod-finalizer-removed-by-job-controller', (pod) => {
      pod.metadata!.labels = { ...pod.metadata!.labels, extra: 'x' };
    });
    expect(decide(relabel).reasons.join()).toMatch(/metadata\.labels\.extra \(added\)/);
  });

  it("the volume binder may set a claim's volume once, not change it, nor its requests or other annotations", () => {
    const rebind = variant('controller-pvc-bind-by-persistent-volume-binder', (r) => {
      (oldObjectOf(r).spec as Record<string, unknown>).volumeName = 'another';
    });
    expect(decide(rebind).reasons.join()).toMatch(/spec\.volumeName \(changed\)/);
    const grow = edit('controller-pvc-bind-by-persistent-volume-binder', (pvc) => {
      (pvc.spec as { resources: { requests: { storage: string } } }).resources.requests.storage = '5Gi';
    });
    expect(decide(grow).allowed).toBe(false);
    const mark = edit('controller-pvc-bind-by-persistent-volume-binder', (pvc) => {
      pvc.metadata!.annotations = { ...pvc.metadata!.annotations, 'pv.kubernetes.io/bind-completed': 'no' };
    });
    expect(decide(mark).allowed).toBe(false);
    const smuggled = edit('controller-pvc-bind-by-persistent-volume-binder', (pvc) => {
      pvc.metadata!.annotations = { ...pvc.metadata!.annotations, note: 'x' };
    });
    expect(decide(smuggled).allowed).toBe(false);
  });

  it('the volume binder may not move a bound volume to another claim', () => {
    const moved = variant('controller-pv-bind-by-persistent-volume-binder', (r) => {
      const claimRef = (objectOf(r).spec as { claimRef: Record<string, unknown> }).claimRef;
      (oldObjectOf(r).spec as Record<string, unknown>).claimRef = { ...claimRef, name: 'other-claim' };
    });
    expect(decide(moved).allowed).toBe(false);
  });

  it('the service controller may add or remove its finalizer only', () => {
    const other = edit('controller-service-status-finalizer-by-service-controller', (svc) => {
      svc.metadata!.finalizers = ['service.kubernetes.io/load-balancer-cleanup', 'example.com/hold'];
    });
    expect(decide(other).allowed).toBe(false);
    const relabel = edit('controller-service-status-finalizer-by-service-controller', (svc) => {
      delete svc.metadata!.labels!['bulwark.dev/immutable'];
    });
    expect(decide(relabel).reasons.join()).toMatch(/bulwark\.dev\/immutable/);
    // The removal is the captured addition played backwards (managedFields too: they must agree with the write).
    const removed = variant('controller-service-status-finalizer-by-service-controller', (r) => {
      const [before, after] = [oldObjectOf(r).metadata!, objectOf(r).metadata!];
      const fields = { before: before.managedFields ?? [], after: after.managedFields ?? [] };
      before.managedFields = fields.after;
      after.managedFields = fields.before;
      before.finalizers = ['service.kubernetes.io/load-balancer-cleanup'];
      after.finalizers = [];
    });
    expect(decide(removed).allowed).toBe(true);
  });
});

describe('deletions', () => {
  const replica = () => oldObjectOf(loadReview('controller-pod-delete-by-replicaset-controller'));
  const parent = (pod: KubeObject): RequestFacts => ({ parent: { status: 'found', object: pod } });

  it('an eviction of a replica pod is allowed (its owner replaces it; PodDisruptionBudgets limit evictions)', () => {
    const verdict = decide(loadReview('controller-pod-eviction-replica'), parent(replica()));
    expect(verdict.allowed).toBe(true);
    expect(verdict.auditAnnotations['immutability-lifecycle']).toContain('PodDisruptionBudgets limit evictions');
  });

  it('an eviction of a locked pod that no controller owns is denied, saying why', () => {
    const bare = replica();
    delete bare.metadata!.ownerReferences;
    expect(decide(loadReview('controller-pod-eviction-replica'), parent(bare)).reasons.join()).toMatch(
      /no controller owns it, so nothing would bring it back/,
    );
    // An owner reference that is not a controller's, or names a kind that does not make pods, does not count.
    for (const ownerReferences of [
      [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'x', uid: 'u' }],
      [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'u', controller: true }],
    ]) {
      expect(
        decide(
          loadReview('controller-pod-eviction-replica'),
          parent({ ...bare, metadata: { ...bare.metadata, ownerReferences } }),
        ).allowed,
      ).toBe(false);
    }
  });

  it(
    "the kubelet's final delete is allowed because the pod is " +
      "already terminating on its node; a first delete is not, nor anyone else's second one",
    () => {
      expect(decide(loadReview('controller-pod-delete-terminating-by-kubelet')).allowed).toBe(true);
      expect(decide(as('controller-pod-delete-terminating-by-kubelet', ALICE)).allowed).toBe(false);
      expect(decide(as('controller-pod-delete-terminating-by-kubelet', 'system:node:other-node')).allowed).toBe(false);
      const notYet = variant('controller-pod-delete-terminating-by-kubelet', (r) => {
        delete oldObjectOf(r).metadata!.deletionTimestamp;
      });
      expect(decide(notYet).allowed).toBe(false);
    },
  );

  it(
    'the garbage collector deletes what a controller made from a ' +
      'locked template, not a locked object that merely names an owner',
    () => {
      expect(decide(loadReview('controller-replicaset-delete-by-garbage-collector')).allowed).toBe(true);
      const verdict = decide(loadReview('controller-configmap-delete-by-garbage-collector'));
      expect(verdict.allowed).toBe(false);
      expect(verdict.reasons.join()).toMatch(/^ConfigMap \S+\/dependent is locked .* cannot be deleted$/);
    },
  );

  it('taint eviction (the node controller) and pod GC may delete replica pods, not bare ones', () => {
    for (const user of [
      'system:serviceaccount:kube-system:node-controller',
      'system:serviceaccount:kube-system:pod-garbage-collector',
    ]) {
      expect(decide(as('controller-pod-delete-by-replicaset-controller', user)).allowed, user).toBe(true);
      const bare = variant('controller-pod-delete-by-replicaset-controller', (r) => {
        r.request.userInfo.username = user;
        delete oldObjectOf(r).metadata!.ownerReferences;
      });
      expect(decide(bare).allowed, user).toBe(false);
    }
  });
});
