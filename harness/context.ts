// What e2e test files use: the injected cluster, a kubectl runner bound to it, and
// fresh namespaces. kubectl never throws on a non-zero exit; assert on code and stderr.
//
// Cleaning up: a locked object (label bulwark.dev/immutable=true) cannot be deleted
// while the webhook is registered, so tests do not delete what they lock. Each test
// works in its own namespace from newNamespace() and the cluster is thrown away after
// the run. A test that must delete the webhook configuration restores it (or runs last).

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { inject } from 'vitest';
import { kubectlOk, kubectlRunner, type Kubectl } from './kubectl.ts';
import type { ProvidedCluster } from './provided.ts';

export type { Kubectl, KubectlOptions, KubectlResult } from './kubectl.ts';
export type { UserName } from './users.ts';
export { isImmutabilityDenial, LOCK_LABEL, WEBHOOK_CONFIGURATION, WEBHOOK_NAME } from './registration.ts';

export function e2eCluster(): ProvidedCluster {
  return {
    kubeconfig: inject('kubeconfig'),
    dir: inject('dir'),
    server: inject('server'),
    webhookPort: inject('webhookPort'),
    kubectlPath: inject('kubectlPath'),
    tokens: inject('tokens'),
  };
}

let runner: Kubectl | undefined;

/** kubectl against the e2e cluster, as admin unless `user` is given. */
export const kubectl: Kubectl = (args, options) => {
  if (!runner) {
    const c = e2eCluster();
    runner = kubectlRunner({
      kubectlPath: c.kubectlPath,
      kubeconfig: c.kubeconfig,
      cacheDir: join(c.dir, 'kube-cache'),
    });
  }
  return runner(args, options);
};

/** Creates a namespace `<prefix>-<random>` (as admin) and returns its name. */
export async function newNamespace(prefix = 'e2e'): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await kubectlOk(kubectl, ['create', 'namespace', name]);
  return name;
}
