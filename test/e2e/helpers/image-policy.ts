// An ImagePolicy applied in e2e tests, and waiting until the webhook enforces it.

import { stringify } from 'yaml';
import { kubectl } from '../../../harness/context.ts';
import { kubectlOk } from '../../../harness/kubectl.ts';

/** A one-container Pod manifest. */
export function podManifest(namespace: string, name: string, image: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: { containers: [{ name: 'app', image }] },
  });
}

/** Applies `policy` (as admin) and waits until a pod of `deniedImage` in `namespace` is denied (within 15 s). */
export async function applyImagePolicy(policy: string, namespace: string, deniedImage: string): Promise<void> {
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: policy });
  const deadline = Date.now() + 15_000;
  const probe = podManifest(namespace, 'probe', deniedImage);
  while ((await kubectl(['apply', '-f', '-'], { input: probe, user: 'alice' })).code === 0 && Date.now() < deadline)
    await kubectl(['delete', 'pod', 'probe', '-n', namespace, '--wait=false']);
}
