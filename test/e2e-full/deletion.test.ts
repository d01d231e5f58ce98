// Deletion through the real garbage collector and namespace controller.
//
// The garbage collector deleting the owner's dependents: what a controller made from a
// locked template (ReplicaSets, pods) goes with its owner, also in foreground deletion. A
// locked object that merely names an owner stays: the lock wins, or whoever may delete an
// unlocked owner could delete the locked object through it. Background deletion then
// leaves it behind; foreground deletion waits for it (the owner stays with the
// foregroundDeletion finalizer) until an approved UnlockRequest lets the collector delete it.
//
// A namespace holding locked objects is refused up front; once the last lock is lifted
// through an approved UnlockRequest, it deletes completely.

import { beforeAll, describe, expect, it } from 'vitest';
import { kubectlOk } from '../../harness/kubectl.ts';
import { approvablePolicy, approvedUnlock } from '../e2e/helpers/unlock.ts';
import { GARBAGE_COLLECTOR } from '../../src/rules/immutability/controller-writes.ts';
import { kubectl, kubectlJson, newNamespace, until } from './context.ts';
import { apply, bulwarkDecisions, deployment, LOCK, readyPods } from './workloads.ts';

const gone = (args: string[]) => async () => ((await kubectl(['get', ...args])).code !== 0 ? true : undefined);

let ns: string;

beforeAll(async () => {
  ns = await newNamespace('deletion');
  // Break-glass for this namespace: the approvers group approves (policy made before anything here is locked).
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: approvablePolicy(`deletion-${ns}`, { namespaces: [ns] }) });
});

function ownedConfigMaps(owner: string, child: string, ownerUid: string) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: child,
      namespace: ns,
      labels: LOCK,
      ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner, uid: ownerUid, blockOwnerDeletion: true }],
    },
    data: { locked: 'true-by-lock' },
  };
}

async function ownerWithLockedChild(owner: string, child: string): Promise<void> {
  await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: owner, namespace: ns }, data: {} });
  const uid = await kubectlOk(kubectl, ['get', 'cm', owner, '-n', ns, '-o', 'jsonpath={.metadata.uid}']);
  await apply(ownedConfigMaps(owner, child, uid));
}

describe('the garbage collector', () => {
  it(
    'deletes what a controller made from a locked template along ' +
      'with its owner, in background and in foreground deletion',
    async () => {
      for (const cascade of ['background', 'foreground']) {
        await apply(deployment(ns, `web-${cascade}`, 2, { lockedTemplate: true }));
        await readyPods(ns, `app=web-${cascade}`, 2);
        await kubectlOk(kubectl, [
          'delete',
          'deployment',
          `web-${cascade}`,
          '-n',
          ns,
          `--cascade=${cascade}`,
          '--wait=false',
        ]);
        await until(
          `the ${cascade} deletion removed the Deployment, its ReplicaSet and pods`,
          async () => {
            const left = await kubectlOk(kubectl, [
              'get',
              'deployments,replicasets,pods',
              '-n',
              ns,
              '-l',
              `app=web-${cascade}`,
              '-o',
              'name',
            ]);
            const deploymentLeft = (await kubectl(['get', 'deployment', `web-${cascade}`, '-n', ns])).code === 0;
            return left.trim() === '' && !deploymentLeft ? true : undefined;
          },
          90_000,
        );
      }
    },
  );

  it('leaves a locked dependent behind when its owner is deleted in the background', async () => {
    const since = new Date().toISOString();
    await ownerWithLockedChild('owner-bg', 'child-bg');
    await kubectlOk(kubectl, ['delete', 'cm', 'owner-bg', '-n', ns]);
    const denied = await until(
      'the garbage collector tried to delete the locked dependent and was denied',
      async () => {
        const found = (await bulwarkDecisions(since)).find(
          (d) => d.user === GARBAGE_COLLECTOR && d.name === 'child-bg' && d.operation === 'DELETE',
        );
        return found;
      },
      60_000,
    );
    expect(denied.decision).toBe('deny');
    expect((await kubectl(['get', 'cm', 'child-bg', '-n', ns])).code).toBe(0);
  });

  it(
    'keeps a foreground deletion waiting for a locked dependent ' +
      'until an approved UnlockRequest lets the collector delete it',
    async () => {
      await ownerWithLockedChild('owner-fg', 'child-fg');
      await kubectlOk(kubectl, ['delete', 'cm', 'owner-fg', '-n', ns, '--cascade=foreground', '--wait=false']);
      await new Promise((r) => setTimeout(r, 5000));
      const waiting = await kubectlJson<{ metadata: { deletionTimestamp?: string; finalizers?: string[] } }>([
        'get',
        'cm',
        'owner-fg',
        '-n',
        ns,
      ]);
      expect(waiting.metadata.deletionTimestamp).toBeDefined();
      expect(waiting.metadata.finalizers).toEqual(['foregroundDeletion']);
      expect((await kubectl(['get', 'cm', 'child-fg', '-n', ns])).code).toBe(0);

      await approvedUnlock({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'child-fg' }, ['DELETE']);
      await until(
        'the collector deleted the dependent and then the owner',
        gone(['cm', 'owner-fg', '-n', ns]),
        120_000,
      );
      expect((await kubectl(['get', 'cm', 'child-fg', '-n', ns])).code).not.toBe(0);
    },
  );
});

describe('deleting a namespace through the namespace controller', () => {
  it(
    'is refused up front while it holds locked objects, and completes ' +
      'once the last lock is lifted by an approved UnlockRequest',
    async () => {
      const doomed = await newNamespace('doomed');
      await kubectlOk(kubectl, ['apply', '-f', '-'], {
        input: approvablePolicy(`doomed-${doomed}`, { namespaces: [doomed] }),
      });
      await apply(
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'settings', namespace: doomed, labels: LOCK },
          data: { mode: 'prod' },
        },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'scratch', namespace: doomed }, data: {} },
        deployment(doomed, 'web', 1, { lockedTemplate: true }),
      );
      await readyPods(doomed, 'app=web', 1);

      const refused = await kubectl(['delete', 'namespace', doomed, '--wait=false'], { user: 'alice' });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('admission webhook "guards.bulwark.dev" denied the request');
      expect(refused.stderr).toContain('ConfigMap settings');
      expect(await kubectlOk(kubectl, ['get', 'namespace', doomed, '-o', 'jsonpath={.status.phase}'])).toBe('Active');

      // The workload goes the ordinary way (its locked ReplicaSet and pod with it); the ConfigMap's lock is lifted.
      await kubectlOk(kubectl, ['delete', 'deployment', 'web', '-n', doomed], { user: 'alice' });
      await until(
        'the replicas are gone',
        async () =>
          (await kubectlOk(kubectl, ['get', 'replicasets,pods', '-n', doomed, '-o', 'name'])).trim() === ''
            ? true
            : undefined,
        90_000,
      );
      await approvedUnlock({ apiVersion: 'v1', kind: 'ConfigMap', namespace: doomed, name: 'settings' }, ['Unlabel']);
      await kubectlOk(kubectl, ['label', 'configmap', 'settings', '-n', doomed, `${Object.keys(LOCK)[0]}-`], {
        user: 'alice',
      });

      await kubectlOk(kubectl, ['delete', 'namespace', doomed, '--wait=false'], { user: 'alice' });
      await until(`namespace ${doomed} is gone, not left Terminating`, gone(['namespace', doomed]), 120_000);
    },
  );
});
