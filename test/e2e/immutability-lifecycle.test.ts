// The lock across an object's life: terminating objects (finalizers may go, nothing else),
// pods (eviction is a delete; ephemeral containers are a change) and namespaces.

import { beforeAll, describe, expect, it } from 'vitest';
import { kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import {
  configMap,
  create,
  expectAllowed,
  expectChangeDenied,
  expectDeleteDenied,
  expectGone,
  expectUntouched,
  IMAGE,
  jsonpath,
  LOCK_LABEL_JSONPATH,
  stamp,
  target,
  type Ref,
} from './helpers/immutability.ts';

const HOLD = 'example.com/hold';

describe('a locked object that is being deleted (deletionTimestamp set, held by a finalizer)', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await newNamespace('immut-terminating');
  });

  /** An unlabelled ConfigMap with a finalizer, deleted (so terminating), then locked as admin. */
  async function terminatingLocked(name: string): Promise<Ref> {
    const ref = { resource: 'configmap', name, namespace: ns };
    await create(configMap(ref, { color: 'blue' }, { locked: false, finalizers: [HOLD] }));
    await kubectlOk(kubectl, ['delete', 'configmap', name, '--wait=false'], { namespace: ns });
    expectAllowed(
      await kubectl(['label', 'configmap', name, `${LOCK_LABEL.key}=${LOCK_LABEL.value}`], { namespace: ns }),
    );
    expect(
      await jsonpath(ref, `{.metadata.finalizers}{"\\t"}${LOCK_LABEL_JSONPATH}{"\\t"}{.metadata.deletionTimestamp}`),
    ).toMatch(new RegExp(`^\\["${HOLD}"\\]\\t${LOCK_LABEL.value}\\t\\d{4}-`));
    return ref;
  }

  it('denies a data change, also when it comes with the finalizer removal', async () => {
    const ref = await terminatingLocked('data-change');
    const before = await stamp(ref, '{.data}{"\\t"}{.metadata.finalizers}');

    expectChangeDenied(
      await kubectl(['patch', 'configmap', ref.name, '--type=merge', '-p', '{"data":{"color":"red"}}'], {
        namespace: ns,
      }),
      target('ConfigMap', ref),
      'data.color (changed)',
    );
    const both = [
      { op: 'remove', path: '/metadata/finalizers' },
      { op: 'replace', path: '/data/color', value: 'red' },
    ];
    expectChangeDenied(
      await kubectl(['patch', 'configmap', ref.name, '--type=json', '-p', JSON.stringify(both)], {
        user: 'alice',
        namespace: ns,
      }),
      target('ConfigMap', ref),
      'data.color (changed)',
    );
    // A second delete is still a delete of a locked object.
    expectDeleteDenied(
      await kubectl(['delete', 'configmap', ref.name, '--wait=false'], { user: 'alice', namespace: ns }),
      target('ConfigMap', ref),
    );
    await expectUntouched(ref, before, '{.data}{"\\t"}{.metadata.finalizers}');
  });

  it('allows removing the finalizer (nothing else changes); the object then disappears', async () => {
    const ref = await terminatingLocked('finalizer-removed');

    const result = await kubectl(
      ['patch', 'configmap', ref.name, '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]'],
      { user: 'alice', namespace: ns },
    );

    expectAllowed(result);
    expect(result.stdout).toContain(`configmap/${ref.name} patched`);
    await expectGone(ref);
  });
});

describe('pods', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await newNamespace('immut-pods');
  });

  /** A Pod made with kubectl run (it stays Pending: there is no scheduler or kubelet). */
  async function run(name: string, locked: boolean): Promise<Ref> {
    const labels = locked ? ['--labels', `${LOCK_LABEL.key}=${LOCK_LABEL.value}`] : [];
    await kubectlOk(kubectl, ['run', name, `--image=${IMAGE}`, ...labels], { user: 'alice', namespace: ns });
    return { resource: 'pod', name, namespace: ns };
  }

  const evict = (name: string) =>
    kubectl(['create', '--raw', `/api/v1/namespaces/${ns}/pods/${name}/eviction`, '-f', '-'], {
      user: 'alice',
      input: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: ns } }),
    });

  it('eviction of a locked Pod is denied (evicting deletes); the pod still exists', async () => {
    const ref = await run('locked', true);
    const before = await stamp(ref, '{.status.phase}');
    expect(before.content).toBe('Pending');

    expectDeleteDenied(await evict('locked'), target('Pod', ref));
    await expectUntouched(ref, before, '{.status.phase}');
  });

  it('eviction of an unlabelled Pod goes through (the pod is deleted)', async () => {
    const ref = await run('free', false);

    const result = await evict('free');

    expectAllowed(result);
    expect(result.stdout).toContain('"status":"Success"');
    await expectGone(ref);
  });

  it('kubectl debug (an ephemeral container) of a locked Pod is denied', async () => {
    const ref = await run('debugged', true);
    const before = await stamp(ref, '{.spec}');

    const result = await kubectl(['debug', 'debugged', `--image=${IMAGE}`, '--container=debugger'], {
      user: 'alice',
      namespace: ns,
    });

    expectChangeDenied(result, target('Pod', ref), 'spec.ephemeralContainers (added)', 'ephemeralcontainers');
    await expectUntouched(ref, before, '{.spec}');
  });
});

describe('a locked Namespace', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await newNamespace('immut-locked-ns');
    await kubectlOk(kubectl, ['label', 'namespace', ns, `${LOCK_LABEL.key}=${LOCK_LABEL.value}`]);
  });

  it('cannot be deleted; it stays Active', async () => {
    const ref = { resource: 'namespace', name: ns };
    const before = await stamp(ref, '{.status.phase}');

    const result = await kubectl(['delete', 'namespace', ns, '--wait=false'], { user: 'alice' });

    expect(result.code, result.stderr).not.toBe(0);
    expect(result.stderr).toContain('is locked');
    expect(result.stderr).toContain('and cannot be deleted');
    expect((await expectUntouched(ref, before, '{.status.phase}')).content).toBe('Active');
  });

  // A Namespace is cluster-scoped, but the apiserver sets request.namespace to its own
  // name: the message must still read `Namespace NAME`, like `ClusterRole NAME`.
  it('names it as a cluster-scoped object: "Namespace NAME is locked"', async () => {
    const result = await kubectl(['delete', 'namespace', ns, '--wait=false'], { user: 'alice' });
    expectDeleteDenied(result, target('Namespace', { resource: 'namespace', name: ns }));
  });
});
