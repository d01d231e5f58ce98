// The bookkeeping annotations carry no data (issue 10, finding 6): kubectl's last-applied
// annotation may change only to a record of the object's own content, the deployment
// revision only by the deployment controller and only to a number. On captured reviews
// and variants of them.

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest, KubeObject } from '../../../../src/admission/types.ts';
import { reviewRequest } from '../../../../src/review/review.ts';
import { MAX_ABSENT_EMPTY } from '../../../../src/diff/last-applied.ts';
import { loadReview } from '../../../helpers/fixtures.ts';
import { editedUpdate, oldObjectOf } from '../../../helpers/reviews.ts';
import { builtinSnapshot } from '../../../helpers/snapshots.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const REVISION = 'deployment.kubernetes.io/revision';
const DEPLOYMENT_CONTROLLER = 'system:serviceaccount:kube-system:deployment-controller';

const decide = (review: AdmissionReviewRequest) =>
  reviewRequest({ request: review.request, snapshot: builtinSnapshot(), facts: {} });
const reasons = (review: AdmissionReviewRequest) => decide(review).reasons.join('; ');

type Json = Record<string, unknown>;

/** What Go's encoding/json writes for a map (keys sorted, compact, newline); test values have no HTML characters. */
function goJson(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sorted((v as Json)[k])]),
          )
        : v;
  return `${JSON.stringify(sorted(value))}\n`;
}

/** kubectl's record of the captured Deployment, as kubectl wrote it. */
const deploymentRecord = (): Json =>
  JSON.parse(oldObjectOf(loadReview('deployment-image-changed')).metadata!.annotations![LAST_APPLIED]!) as Json;
const containerOf = (record: Json) =>
  ((record.spec as Json).template as { spec: { containers: Json[] } }).spec.containers[0]!;

/** The captured Deployment, unchanged but for a new last-applied annotation. */
function withRecord(text: string | undefined): AdmissionReviewRequest {
  return editedUpdate('deployment-image-changed', (o) => {
    const annotations = { ...o.metadata!.annotations };
    if (text === undefined) delete annotations[LAST_APPLIED];
    else annotations[LAST_APPLIED] = text;
    o.metadata!.annotations = annotations;
  });
}

function recordWith(edit: (record: Json) => void): string {
  const record = deploymentRecord();
  edit(record);
  return goJson(record);
}

describe('the last-applied annotation', () => {
  it('captured: data written into it on a locked ConfigMap is denied, naming it', () => {
    expect(reasons(loadReview('configmap-last-applied-forged'))).toContain(
      `metadata.annotations["${LAST_APPLIED}"] (changed)`,
    );
  });

  it('captured: the record the apiserver keeps for kubectl apply --server-side agrees with the object', () => {
    const review = loadReview('configmap-apply-identical');
    expect(review.request.object!.metadata!.annotations![LAST_APPLIED]).toBeDefined();
    const added = editedUpdate('configmap-apply-identical', () => {});
    delete added.request.oldObject!.metadata!.annotations;
    expect(decide(added).allowed).toBe(true);
  });

  it.each<[string, (record: Json) => void]>([
    ["the same record in Go's encoding", () => {}],
    [
      'a smaller record (fewer fields, fewer list items)',
      (r) => {
        delete (r.spec as Json).replicas;
        ((r.spec as Json).template as { spec: { containers: Json[] } }).spec.containers.pop();
      },
    ],
    [
      'a quantity as YAML gives it (cpu: 0.1 for 100m)',
      (r) => {
        (containerOf(r).resources as { requests: Json }).requests.cpu = 0.1;
      },
    ],
    [
      'a quantity spelled otherwise (0.125Gi for 128Mi)',
      (r) => {
        (containerOf(r).resources as { requests: Json }).requests.memory = '0.125Gi';
      },
    ],
    [
      'an empty field the apiserver drops (hostNetwork: false)',
      (r) => {
        ((r.spec as Json).template as { spec: Json }).spec.hostNetwork = false;
      },
    ],
    [
      'null for a field (creationTimestamp: null)',
      (r) => {
        (r.metadata as Json).creationTimestamp = null;
      },
    ],
    [
      'status and resourceVersion as the old object has them',
      (r) => {
        r.status = {};
        (r.metadata as Json).resourceVersion = '235';
      },
    ],
  ])('may change to %s', (_what, edit) => {
    expect(decide(withRecord(recordWith(edit))).allowed).toBe(true);
  });

  it('may be removed', () => {
    expect(decide(withRecord(undefined)).allowed).toBe(true);
  });

  it.each<[string, () => string]>([
    [
      'a field with another value',
      () =>
        recordWith((r) => {
          (r.spec as Json).replicas = 3;
        }),
    ],
    [
      'a field the object lacks',
      () =>
        recordWith((r) => {
          (r.spec as Json).paused = true;
        }),
    ],
    [
      'another quantity',
      () =>
        recordWith((r) => {
          (containerOf(r).resources as { requests: Json }).requests.cpu = '200m';
        }),
    ],
    [
      "a list longer than the object's",
      () =>
        recordWith((r) => {
          ((r.spec as Json).template as { spec: { containers: Json[] } }).spec.containers.push({ name: 'extra' });
        }),
    ],
    [
      'an empty field with a name no field has',
      () =>
        recordWith((r) => {
          (r.spec as Json)['x-smuggled-data'] = '';
        }),
    ],
    [
      `more than ${MAX_ABSENT_EMPTY} empty fields the object lacks`,
      () =>
        recordWith((r) => {
          for (let i = 0; i <= MAX_ABSENT_EMPTY; i++) (r.spec as Json)[`f${i}`] = null;
        }),
    ],
    [
      'a status the object never had',
      () =>
        recordWith((r) => {
          r.status = { replicas: 5 };
        }),
    ],
    [
      'a resourceVersion neither version has',
      () =>
        recordWith((r) => {
          (r.metadata as Json).resourceVersion = '999';
        }),
    ],
    ['the same record with whitespace', () => goJson(deploymentRecord()).replace(/,/g, ', ')],
    ["the same record with keys out of Go's order", () => `${JSON.stringify({ spec: {}, apiVersion: 'apps/v1' })}\n`],
    ['a JSON array', () => '[]\n'],
    ['text', () => 'smuggled'],
  ])('may not change to %s', (_what, record) => {
    expect(reasons(withRecord(record()))).toContain(`metadata.annotations["${LAST_APPLIED}"] (changed)`);
  });

  it("a Secret's record may state stringData for the data the object holds", () => {
    const record = (password: string) =>
      goJson({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db-password', namespace: 'demo' },
        stringData: { password },
      });
    const first = (password: string) =>
      editedUpdate('secret-update-labelled', (o) => {
        o.metadata!.annotations = { [LAST_APPLIED]: record(password) };
      });
    expect(decide(first('s3cret')).allowed).toBe(true);
    expect(reasons(first('other'))).toContain(`metadata.annotations["${LAST_APPLIED}"] (added)`);
  });
});

describe('the deployment revision annotation', () => {
  const revised = (value: string | undefined, username: string) => {
    const review = editedUpdate('deployment-image-changed', (o: KubeObject) => {
      const annotations = { ...o.metadata!.annotations };
      if (value === undefined) delete annotations[REVISION];
      else annotations[REVISION] = value;
      o.metadata!.annotations = annotations;
    });
    review.request.userInfo = { username, groups: ['system:serviceaccounts'] };
    return review;
  };
  const withRevision = (review: AdmissionReviewRequest) => {
    review.request.oldObject!.metadata!.annotations = {
      ...review.request.oldObject!.metadata!.annotations,
      [REVISION]: '1',
    };
    return review;
  };

  it(
    "is set by the deployment controller to a number (under its own account, or kube-controller-manager's " +
      'shared one)',
    () => {
      expect(decide(revised('2', DEPLOYMENT_CONTROLLER)).allowed).toBe(true);
      expect(decide(withRevision(revised('3', DEPLOYMENT_CONTROLLER))).allowed).toBe(true);
      expect(decide(revised('2', 'system:kube-controller-manager')).allowed).toBe(true);
    },
  );

  it.each([
    ['by anyone else', '2', 'alice', 'added'],
    ['by the controller to text', 'two', DEPLOYMENT_CONTROLLER, 'added'],
    ['by the controller to a number with a sign', '+2', DEPLOYMENT_CONTROLLER, 'added'],
  ])('is a change when set %s', (_what, value, user, kind) => {
    expect(reasons(revised(value, user))).toContain(`metadata.annotations["${REVISION}"] (${kind})`);
  });

  it('is a change when removed, even by the controller', () => {
    expect(reasons(withRevision(revised(undefined, DEPLOYMENT_CONTROLLER)))).toContain(
      `metadata.annotations["${REVISION}"] (removed)`,
    );
  });
});
