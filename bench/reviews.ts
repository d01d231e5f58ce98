// Realistic review bodies for the bench, derived from reviews captured from a real
// kube-apiserver: a large Deployment UPDATE (denied: image changed) and a small
// ConfigMap UPDATE (allowed: identical reapply), each with a fresh uid per body.

import { randomUUID } from 'node:crypto';
import type { AdmissionReviewRequest, KubeObject } from '../src/admission/types.ts';
import { loadReview } from '../test/helpers/fixtures.ts';

export interface Workload {
  name: string;
  expect: string;
  bodies: Buffer[];
}

/** Pads a Deployment's containers with env vars until the review is about `bytes` long. */
function growDeployment(review: AdmissionReviewRequest, bytes: number): void {
  const grow = (obj: KubeObject) => {
    const containers = (obj as { spec: { template: { spec: { containers: { env?: unknown[] }[] } } } }).spec.template
      .spec.containers;
    const env = Array.from({ length: 10 }, (_, i) => ({ name: `SETTING_${i}`, value: `value-${i}-${'x'.repeat(40)}` }));
    for (const c of containers) c.env = [...(c.env ?? []), ...env];
  };
  while (JSON.stringify(review).length < bytes) {
    grow(review.request.object!);
    grow(review.request.oldObject!);
  }
}

function bodiesOf(review: AdmissionReviewRequest, count = 64): Buffer[] {
  return Array.from({ length: count }, () =>
    Buffer.from(JSON.stringify({ ...review, request: { ...review.request, uid: randomUUID() } })),
  );
}

export async function benchReviews(): Promise<Workload[]> {
  const deployment = structuredClone(loadReview('deployment-image-changed'));
  growDeployment(deployment, 15_000);
  return [
    { name: 'Deployment UPDATE (~15 KB, image changed -> deny)', expect: 'denied', bodies: bodiesOf(deployment) },
    {
      name: 'ConfigMap UPDATE (small, identical reapply -> allow)',
      expect: 'allowed',
      bodies: bodiesOf(loadReview('configmap-apply-identical')),
    },
  ];
}
