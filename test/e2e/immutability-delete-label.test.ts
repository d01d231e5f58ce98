// The immutability rule end to end: deleting locked objects (one, `--all`, a whole
// collection) and editing the lock label itself. Locking is always allowed, unlocking never.

import { beforeAll, describe, expect, it } from 'vitest';
import { kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import {
  configMap,
  create,
  DENIED,
  expectAllowed,
  expectChangeDenied,
  expectDeleteDenied,
  expectUntouched,
  jsonpath,
  LOCK_LABEL_JSONPATH,
  stamp,
  stampAll,
  target,
  UNLOCK_IS_A_CHANGE,
  type Ref,
  type Stamp,
} from './helpers/immutability.ts';

/** Names of the ConfigMaps in `ns`, sorted. */
async function configMapNames(ns: string): Promise<string[]> {
  const out = await kubectlOk(kubectl, ['get', 'configmaps', '-o', 'jsonpath={.items[*].metadata.name}'], {
    namespace: ns,
  });
  return out.split(' ').filter(Boolean).sort();
}

/** A namespace with two locked and two unlabelled ConfigMaps, and nothing else. */
async function mixedNamespace(prefix: string): Promise<string> {
  const ns = await newNamespace(prefix);
  // No controller-manager runs, so nothing (such as kube-root-ca.crt) appears in a new namespace.
  expect(await configMapNames(ns)).toEqual([]);
  await create(
    configMap({ name: 'locked-a', namespace: ns }, { k: 'a' }),
    configMap({ name: 'locked-b', namespace: ns }, { k: 'b' }),
    configMap({ name: 'free-a', namespace: ns }, { k: 'a' }, { locked: false }),
    configMap({ name: 'free-b', namespace: ns }, { k: 'b' }, { locked: false }),
  );
  return ns;
}

describe('deleting locked ConfigMaps', () => {
  it('denies kubectl delete cm NAME; the object survives untouched', async () => {
    const ns = await newNamespace('immut-delete');
    const ref = { resource: 'configmap', name: 'locked', namespace: ns };
    await create(configMap(ref, { color: 'blue' }));
    const before = await stamp(ref);

    const result = await kubectl(['delete', 'configmap', 'locked'], { user: 'alice', namespace: ns });

    expectDeleteDenied(result, target('ConfigMap', ref));
    await expectUntouched(ref, before);
  });

  it(
    'kubectl delete cm --all deletes the unlabelled ConfigMaps, keeps the locked ones and exits ' + 'non-zero',
    async () => {
      const ns = await mixedNamespace('immut-delete-all');
      const before = await stampAll(ns, 'configmaps');

      const result = await kubectl(['delete', 'configmaps', '--all'], { user: 'alice', namespace: ns });

      expect(result.code, result.stderr).not.toBe(0);
      expectDeleteDenied(result, target('ConfigMap', { resource: 'configmap', name: 'locked-a', namespace: ns }));
      expectDeleteDenied(result, target('ConfigMap', { resource: 'configmap', name: 'locked-b', namespace: ns }));
      expect(result.stdout).toContain(`configmap "free-a" deleted`);
      expect(result.stdout).toContain(`configmap "free-b" deleted`);
      expect(await configMapNames(ns)).toEqual(['locked-a', 'locked-b']);
      expect(await stampAll(ns, 'configmaps')).toEqual(
        new Map([...before].filter(([name]) => name.startsWith('locked-'))),
      );
    },
  );

  // A DELETE of the collection: the apiserver asks the webhook about every item, one by one.
  it('a deletecollection (kubectl delete --raw on the collection URL) removes only the unlabelled ones', async () => {
    const ns = await mixedNamespace('immut-delcoll');

    const result = await kubectl(['delete', '--raw', `/api/v1/namespaces/${ns}/configmaps`], { user: 'alice' });

    // The apiserver reports the first failed item (which one depends on its workers).
    expect(result.code, result.stderr).not.toBe(0);
    expect(result.stderr).toMatch(DENIED);
    expect(result.stderr).toMatch(
      new RegExp(
        `ConfigMap ${ns}/locked-[ab] is locked \\(labelled ${LOCK_LABEL.key}=${LOCK_LABEL.value}\\) and ` +
          `cannot be deleted`,
      ),
    );
    expect(await configMapNames(ns)).toEqual(['locked-a', 'locked-b']);
  });
});

describe('the lock label', () => {
  let ns: string;
  let before: Map<string, Stamp>;
  const ref = (name: string): Ref => ({ resource: 'configmap', name, namespace: ns });
  const LABEL_PATH = `metadata.labels["${LOCK_LABEL.key}"]`;

  beforeAll(async () => {
    ns = await newNamespace('immut-label');
    await create(
      configMap(ref('only-label'), { color: 'blue' }),
      configMap(ref('two-labels'), { color: 'blue' }, { labels: { app: 'demo' } }),
      configMap(ref('to-false'), { color: 'blue' }),
      configMap(ref('unlabelled'), { color: 'blue' }, { locked: false }),
    );
    before = await stampAll(ns, 'configmaps');
  });

  it.each([
    // The only label: the whole labels map disappears from the stored object.
    {
      how: `kubectl label cm NAME ${LOCK_LABEL.key}- (its only label)`,
      name: 'only-label',
      args: [`${LOCK_LABEL.key}-`],
      changes: 'metadata.labels["bulwark.dev/immutable"] (removed)',
    },
    {
      how: `kubectl label cm NAME ${LOCK_LABEL.key}- (next to another label)`,
      name: 'two-labels',
      args: [`${LOCK_LABEL.key}-`],
      changes: `${LABEL_PATH} (removed)`,
    },
    {
      how: `kubectl label --overwrite cm NAME ${LOCK_LABEL.key}=false`,
      name: 'to-false',
      args: ['--overwrite', `${LOCK_LABEL.key}=false`],
      changes: `${LABEL_PATH} (changed)`,
    },
  ])('denies $how: unlocking is itself a change', async ({ name, args, changes }) => {
    const result = await kubectl(['label', 'configmap', name, ...args], { user: 'alice', namespace: ns });

    expectChangeDenied(result, target('ConfigMap', ref(name)), changes);
    expect(result.stderr).toContain(UNLOCK_IS_A_CHANGE);
    await expectUntouched(ref(name), before.get(name));
    expect(await jsonpath(ref(name), LOCK_LABEL_JSONPATH)).toBe(LOCK_LABEL.value);
  });

  const label = `${LOCK_LABEL.key}=${LOCK_LABEL.value}`;
  it(`allows kubectl label cm UNLABELLED ${label}, after which the object is locked`, async () => {
    const lock = await kubectl(['label', 'configmap', 'unlabelled', `${LOCK_LABEL.key}=${LOCK_LABEL.value}`], {
      user: 'alice',
      namespace: ns,
    });
    expectAllowed(lock);
    expect(lock.stdout).toContain('configmap/unlabelled labeled');
    const locked = await stamp(ref('unlabelled'));
    expect(locked.uid).toBe(before.get('unlabelled')?.uid);
    expect(await jsonpath(ref('unlabelled'), LOCK_LABEL_JSONPATH)).toBe(LOCK_LABEL.value);

    const patch = await kubectl(
      ['patch', 'configmap', 'unlabelled', '--type=merge', '-p', '{"data":{"color":"red"}}'],
      { user: 'alice', namespace: ns },
    );
    expectChangeDenied(patch, target('ConfigMap', ref('unlabelled')), 'data.color (changed)');
    expectDeleteDenied(
      await kubectl(['delete', 'configmap', 'unlabelled'], { user: 'alice', namespace: ns }),
      target('ConfigMap', ref('unlabelled')),
    );
    await expectUntouched(ref('unlabelled'), locked);
  });
});
