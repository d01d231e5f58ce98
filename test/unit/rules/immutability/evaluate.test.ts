// The immutability rule on reviews captured from a real kube-apiserver
// (test/fixtures/reviews) and variants of them.

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest, KubeObject } from '../../../../src/admission/types.ts';
import type { RequestFacts } from '../../../../src/decision/facts.ts';
import { reviewRequest } from '../../../../src/review/review.ts';
import { BUILTIN_IMMUTABILITY_POLICY } from '../../../../src/policy/builtin.ts';
import type { CompiledImmutabilityPolicy, PolicySnapshot } from '../../../../src/policy/compiled.ts';
import { loadReview } from '../../../helpers/fixtures.ts';
import { editedUpdate, oldObjectOf, variant } from '../../../helpers/reviews.ts';
import { builtinSnapshot, snapshotOf } from '../../../helpers/snapshots.ts';
import { joinedRegExp } from '../../../helpers/regexp.ts';

const LABEL = 'bulwark.dev/immutable';

function decide(
  review: AdmissionReviewRequest,
  facts: RequestFacts = {},
  snapshot: PolicySnapshot = builtinSnapshot(),
) {
  return reviewRequest({ request: review.request, snapshot, facts });
}

function message(review: AdmissionReviewRequest, facts?: RequestFacts, snapshot?: PolicySnapshot): string {
  return decide(review, facts, snapshot).reasons.join('; ');
}

function withPolicy(overrides: Partial<CompiledImmutabilityPolicy>): PolicySnapshot {
  return snapshotOf({ immutability: [{ ...BUILTIN_IMMUTABILITY_POLICY, name: 'test-policy', ...overrides }] });
}

const locked = (obj: KubeObject): KubeObject => ({
  ...obj,
  metadata: { ...obj.metadata, labels: { ...obj.metadata?.labels, [LABEL]: 'true' } },
});

describe('immutability: captured reviews', () => {
  it.each([
    ['configmap-create-labelled', true],
    ['configmap-apply-changed', false],
    ['configmap-apply-identical', true],
    ['configmap-label-removed', false],
    ['configmap-label-false', false],
    ['configmap-label-added', true],
    ['configmap-delete-labelled', false],
    ['configmap-delete-unlabelled', true],
    ['configmap-update-unlabelled', true],
    ['configmap-patch-dryrun', false],
    ['configmap-server-side-apply', false],
    ['configmap-finalizer-removed-terminating', true],
    ['deployment-status-update', true],
    ['deployment-image-changed', false],
    ['secret-update-labelled', false],
    ['clusterrole-update-labelled', false],
    ['customresource-update-labelled', false],
    ['customresource-delete-labelled', false],
  ])('%s -> allowed=%s', (name, allowed) => {
    expect(decide(loadReview(name)).allowed).toBe(allowed);
  });

  it('names the changed paths of a kubectl apply', () => {
    const text = message(loadReview('configmap-apply-changed'));
    expect(text).toMatch(
      joinedRegExp(
        /^ConfigMap [a-z0-9-]+\/app-config is locked \(labelled bulwark\.dev\/immutable=true\); /,
        /this update would change /,
      ),
    );
    expect(text).toContain('data.color (changed)');
    expect(text).not.toMatch(/managedFields|resourceVersion|last-applied/);
  });

  it('says that removing or changing the label is itself a change', () => {
    for (const name of ['configmap-label-removed', 'configmap-label-false']) {
      expect(message(loadReview(name))).toContain(`metadata.labels["${LABEL}"]`);
      expect(message(loadReview(name))).toContain('is itself a change');
    }
  });

  it('names a Namespace without repeating its name as a namespace', () => {
    const review = variant('clusterrole-update-labelled', (r) => {
      r.request.kind = { group: '', version: 'v1', kind: 'Namespace' };
      r.request.namespace = 'team-a';
      r.request.operation = 'DELETE';
      r.request.oldObject = {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'team-a', labels: { [LABEL]: 'true' } },
      };
      r.request.object = null;
    });
    expect(message(review)).toMatch(/^Namespace team-a is locked/);
  });

  it('names the lock label when it was the last label', () => {
    const review = variant('configmap-label-removed', (r) => {
      r.request.oldObject!.metadata!.labels = { [LABEL]: 'true' };
      delete r.request.object!.metadata!.labels;
    });
    expect(message(review)).toContain(`metadata.labels["${LABEL}"] (removed)`);
  });

  it('denies DELETE naming the object, for namespaced, cluster-scoped and custom resources', () => {
    expect(message(loadReview('configmap-delete-labelled'))).toMatch(
      /^ConfigMap [a-z0-9-]+\/app-config is locked .* cannot be deleted/,
    );
    expect(message(loadReview('customresource-delete-labelled'))).toMatch(/^Widget [a-z0-9-]+\/\S+ is locked/);
    expect(message(loadReview('clusterrole-update-labelled'))).toMatch(/^ClusterRole [a-z0-9-]+ is locked/);
  });

  it('gives dry-run requests the same answer', () => {
    const review = loadReview('configmap-patch-dryrun');
    expect(review.request.dryRun).toBe(true);
    const live = variant('configmap-patch-dryrun', (r) => {
      r.request.dryRun = false;
    });
    expect(decide(review).reasons).toEqual(decide(live).reasons);
  });

  it('records the decision and reason as audit annotations', () => {
    const verdict = decide(loadReview('configmap-apply-changed'));
    expect(verdict.auditAnnotations).toMatchObject({ decision: 'deny', 'immutability-policy': 'builtin-default' });
    expect(verdict.auditAnnotations.reason).toContain('data.color');
    expect(decide(loadReview('configmap-apply-identical')).auditAnnotations.decision).toBe('allow');
  });
});

describe('immutability: bookkeeping is not a change', () => {
  it.each<[string, (o: KubeObject) => void]>([
    [
      'resourceVersion',
      (o) => {
        o.metadata!.resourceVersion = '999999';
      },
    ],
    [
      'generation',
      (o) => {
        o.metadata!.generation = 42;
      },
    ],
    // The apiserver's own rewrite: an entry for the writer, owning fields the object has (what else:
    // managed-fields.test.ts).
    [
      'managedFields',
      (o) => {
        o.metadata!.managedFields = [
          {
            manager: 'kubectl-set',
            operation: 'Update',
            apiVersion: 'apps/v1',
            fieldsType: 'FieldsV1',
            fieldsV1: { 'f:spec': { 'f:replicas': {} } },
          },
        ];
      },
    ],
    [
      'status',
      (o) => {
        o.status = { replicas: 7, conditions: [{ type: 'Available', status: 'False' }] };
      },
    ],
    // A record that states nothing; what else it may state, and the deployment revision: bookkeeping.test.ts.
    [
      'last-applied-configuration',
      (o) => {
        o.metadata!.annotations = {
          ...o.metadata!.annotations,
          'kubectl.kubernetes.io/last-applied-configuration': '{}',
        };
      },
    ],
  ])('%s', (_name, edit) => {
    expect(decide(editedUpdate('deployment-image-changed', edit)).allowed).toBe(true);
  });

  it('the first last-applied annotation on an object without annotations (kubectl apply after create)', () => {
    const review = editedUpdate('configmap-apply-identical', (o) => {
      o.metadata!.annotations = { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{}}' };
    });
    delete oldObjectOf(review).metadata!.annotations;
    expect(decide(review).allowed).toBe(true);
  });

  it('but any other annotation is', () => {
    const review = editedUpdate('deployment-image-changed', (o) => {
      o.metadata!.annotations = { ...o.metadata!.annotations, owner: 'mallory' };
    });
    expect(message(review)).toContain('metadata.annotations.owner (added)');
  });
});

describe('immutability: terminating objects and the garbage collector', () => {
  it('a terminating object may lose finalizers and nothing else', () => {
    const review = loadReview('configmap-finalizer-removed-terminating');
    expect(oldObjectOf(review).metadata?.deletionTimestamp).toBeTruthy();
    expect(decide(review).allowed).toBe(true);
    const alsoData = variant('configmap-finalizer-removed-terminating', (r) => {
      (r.request.object as { data: Record<string, string> }).data = { sneaky: 'yes' };
    });
    expect(message(alsoData)).toContain('data');
    const added = variant('configmap-finalizer-removed-terminating', (r) => {
      r.request.object!.metadata!.finalizers = ['example.com/new'];
    });
    expect(message(added)).toContain('metadata.finalizers');
  });

  it('a live object may not lose finalizers', () => {
    const review = variant('configmap-finalizer-removed-terminating', (r) => {
      delete r.request.oldObject!.metadata!.deletionTimestamp;
      delete r.request.object!.metadata!.deletionTimestamp;
    });
    expect(message(review)).toContain('metadata.finalizers');
  });

  // kube-controller-manager runs the garbage collector as its own service account with
  // --use-service-account-credentials (kubeadm's choice), and as the manager's shared
  // identity without it (the flag's default): both are the garbage collector.
  it.each([
    [
      'its own service account',
      'system:serviceaccount:kube-system:generic-garbage-collector',
      ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
    ],
    ['kube-controller-manager`s shared identity', 'system:kube-controller-manager', ['system:authenticated']],
  ])(
    'the garbage collector (%s) may drop owner references, and nothing else; nobody else may',
    (_how, username, groups) => {
      const withOwner = (r: AdmissionReviewRequest) => {
        r.request.oldObject!.metadata!.ownerReferences = [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'gone', uid: 'u-1' },
        ];
      };
      const gc = variant('configmap-apply-identical', (r) => {
        withOwner(r);
        r.request.userInfo = { username, groups };
      });
      expect(decide(gc).allowed).toBe(true);
      const gcAddsOne = variant('configmap-apply-identical', (r) => {
        r.request.object!.metadata!.ownerReferences = [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'new', uid: 'u-2' },
        ];
        r.request.userInfo = { username, groups };
      });
      expect(message(gcAddsOne)).toContain('metadata.ownerReferences');
      const other = variant('configmap-apply-identical', withOwner);
      expect(message(other)).toContain('metadata.ownerReferences');
    },
  );
});

describe('immutability: subresources', () => {
  const deployment = oldObjectOf(loadReview('deployment-image-changed'));

  it('scale of a locked Deployment is denied, naming spec.replicas', () => {
    const review = loadReview('deployment-scale');
    expect(review.request.kind.kind).toBe('Scale');
    const text = message(review, { parent: { status: 'found', object: locked(deployment) } });
    expect(text).toMatch(/^Deployment \S+ is locked .*this scale update would change spec\.replicas \(changed\)/);
  });

  it('scale of an unlocked Deployment is allowed; of a vanished one too', () => {
    const unlocked = structuredClone(deployment);
    delete unlocked.metadata!.labels![LABEL];
    expect(decide(loadReview('deployment-scale'), { parent: { status: 'found', object: unlocked } }).allowed).toBe(
      true,
    );
    expect(decide(loadReview('deployment-scale'), { parent: { status: 'absent' } }).allowed).toBe(true);
  });

  it('scale is denied when the parent cannot be read (fail closed)', () => {
    expect(message(loadReview('deployment-scale'), { parent: { status: 'unavailable', reason: 'timeout' } })).toMatch(
      /cannot tell whether .* is locked: timeout/,
    );
    expect(decide(loadReview('deployment-scale')).allowed).toBe(false);
  });

  it('eviction of a locked pod is a delete', () => {
    const review = loadReview('pod-eviction');
    expect(review.request.subResource).toBe('eviction');
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: review.request.name!, namespace: review.request.namespace!, labels: { [LABEL]: 'true' } },
    };
    expect(message(review, { parent: { status: 'found', object: pod } })).toMatch(
      /^Pod \S+ is locked .* cannot be deleted/,
    );
    expect(decide(review, { parent: { status: 'found', object: { ...pod, metadata: { name: 'p' } } } }).allowed).toBe(
      true,
    );
  });

  it('status writes are allowed', () => {
    const review = loadReview('deployment-status-update');
    expect(review.request.subResource).toBe('status');
    expect(decide(review).allowed).toBe(true);
  });
});

describe('immutability: policies refine the lock', () => {
  const review = () => loadReview('deployment-image-changed');

  it('Warn allows with a warning; Audit allows with an audit annotation', () => {
    const warn = decide(review(), {}, withPolicy({ enforcement: 'Warn' }));
    expect(warn.allowed).toBe(true);
    expect(warn.warnings[0]).toContain('is locked');
    const audit = decide(review(), {}, withPolicy({ enforcement: 'Audit' }));
    expect(audit.allowed).toBe(true);
    expect(audit.warnings).toEqual([]);
    expect(audit.auditAnnotations['immutability-audit']).toContain('is locked');
  });

  it('allowed paths may change', () => {
    const v = decide(review(), {}, withPolicy({ allowedPaths: ['/spec/template/spec/containers'] }));
    expect(v.allowed).toBe(true);
  });

  it('operations not listed are not locked', () => {
    expect(decide(review(), {}, withPolicy({ operations: new Set(['DELETE']) })).allowed).toBe(true);
    expect(
      decide(loadReview('configmap-delete-labelled'), {}, withPolicy({ operations: new Set(['UPDATE']) })).allowed,
    ).toBe(true);
  });

  it('exempt subjects pass, with an audit annotation', () => {
    const user = review().request.userInfo.username!;
    const v = decide(review(), {}, withPolicy({ exempt: { users: new Set([user]), groups: new Set() } }));
    expect(v.allowed).toBe(true);
    expect(v.auditAnnotations['immutability-exempt']).toContain(user);
    expect(v.auditAnnotations['immutability-exempt']).toContain('test-policy');
  });

  it('the policy message is appended', () => {
    expect(message(review(), {}, withPolicy({ message: 'Ask #platform.' }))).toMatch(/Ask #platform\.$/);
  });

  it('the lock label is configurable', () => {
    const snapshot = builtinSnapshot({ key: 'example.com/frozen', value: 'yes' });
    expect(decide(review(), {}, snapshot).allowed).toBe(true);
    const frozen = variant('deployment-image-changed', (r) => {
      r.request.oldObject!.metadata!.labels = { 'example.com/frozen': 'yes' };
    });
    expect(decide(frozen, {}, snapshot).allowed).toBe(false);
  });
});

describe('immutability: big objects', () => {
  it('names at most 8 paths and counts the rest', () => {
    const review = editedUpdate('configmap-apply-identical', (o) => {
      const data = (o as { data: Record<string, string> }).data;
      for (let i = 0; i < 500; i++) data[`key${i}`] = 'x'.repeat(40);
    });
    const text = message(review);
    expect(text).toContain('and 492 more');
    expect(text.length).toBeLessThan(1200);
  });

  it('shortens very long paths', () => {
    const review = editedUpdate('configmap-apply-identical', (o) => {
      (o as { data: Record<string, string> }).data[`k${'y'.repeat(240)}`] = 'v';
    });
    expect(message(review)).toMatch(/…/);
  });
});

describe('immutability: malformed requests fail closed', () => {
  it('UPDATE without oldObject is denied', () => {
    const review = variant('configmap-apply-changed', (r) => {
      delete r.request.oldObject;
    });
    expect(message(review)).toMatch(/without oldObject/);
  });
  it('DELETE without oldObject is denied', () => {
    const review = variant('configmap-delete-labelled', (r) => {
      r.request.oldObject = null;
    });
    expect(decide(review).allowed).toBe(false);
  });
});
