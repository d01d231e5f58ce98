// Binding a locked pending pod to a node. The apiserver copies the Binding's annotations
// and labels onto the pod, overwriting the pod's own: a Binding with labels could even
// flip the lock label. Bulwark judges the pod as the binding would leave it. There is no
// scheduler in the e2e cluster, so pods stay pending and the tests bind them by hand.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import {
  create,
  expectAllowed,
  expectChangeDenied,
  IMAGE,
  LOCK_LABELS,
  stamp,
  target,
  UNLOCK_IS_A_CHANGE,
  type Ref,
} from './helpers/immutability.ts';

const NODE = `bulwark-e2e-zoned-${randomBytes(4).toString('hex')}`;
const ZONE = 'topology.kubernetes.io/zone';
const REGION = 'topology.kubernetes.io/region';

let ns: string;
beforeAll(async () => {
  ns = await newNamespace('immut-binding');
  // A Node object only (no kubelet): the PodTopologyLabels admission plugin copies its
  // zone and region labels onto every Binding that targets it.
  await create({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: NODE, labels: { [ZONE]: 'zone-a', [REGION]: 'region-1' } },
  });
});
afterAll(async () => {
  await kubectl(['delete', 'node', NODE, '--wait=false']);
});

const pod = (name: string, locked = true): Ref & { manifest: object } => ({
  resource: 'pod',
  name,
  namespace: ns,
  manifest: {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      labels: { ...(locked ? LOCK_LABELS : {}), app: 'shop' },
      annotations: { owner: 'team-a' },
    },
    spec: { containers: [{ name: 'app', image: IMAGE }] },
  },
});

/** POSTs a Binding as alice: the pods/binding subresource, or the older bindings resource. */
function bind(
  name: string,
  node: string,
  metadata: { annotations?: Record<string, string>; labels?: Record<string, string> } = {},
  via: 'subresource' | 'bindings' = 'subresource',
) {
  const path =
    via === 'subresource' ? `/api/v1/namespaces/${ns}/pods/${name}/binding` : `/api/v1/namespaces/${ns}/bindings`;
  const binding = {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name, namespace: ns, ...metadata },
    target: { apiVersion: 'v1', kind: 'Node', name: node },
  };
  return kubectl(['create', '--raw', path, '-f', '-'], { user: 'alice', input: JSON.stringify(binding) });
}

const POD_STATE = '{.spec.nodeName}{"\\t"}{.metadata.labels}{"\\t"}{.metadata.annotations}';

interface BindingCase {
  how: string;
  metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
  changes: string;
  unlock?: boolean;
  via?: 'bindings';
}

describe('a Binding of a locked pending pod', () => {
  it.each<BindingCase>([
    {
      how: "an annotation that overwrites the pod's own",
      metadata: { annotations: { owner: 'mallory' } },
      changes: 'metadata.annotations.owner (changed)',
    },
    {
      how: 'a new annotation',
      metadata: { annotations: { note: 'hello' } },
      changes: 'metadata.annotations.note (added)',
    },
    {
      how: 'the lock label set to "false"',
      metadata: { labels: { [LOCK_LABEL.key]: 'false' } },
      changes: `metadata.labels["${LOCK_LABEL.key}"] (changed)`,
      unlock: true,
    },
    {
      how: 'an annotation, through the older bindings resource',
      metadata: { annotations: { owner: 'mallory' } },
      changes: 'metadata.annotations.owner (changed)',
      via: 'bindings',
    },
  ])(
    'with $how is denied, naming it; the pod stays unbound and unchanged',
    async ({ metadata, changes, unlock, via }) => {
      const p = pod(`p-${randomBytes(3).toString('hex')}`);
      await create(p.manifest);
      const before = await stamp(p, POD_STATE);
      expect(before.content.startsWith('\t')).toBe(true); // pending: no node

      const result = await bind(p.name, NODE, metadata, via);

      expectChangeDenied(result, target('Pod', p), changes, via === 'bindings' ? undefined : 'binding');
      if (unlock) expect(result.stderr).toContain(UNLOCK_IS_A_CHANGE);
      expect(await stamp(p, POD_STATE)).toEqual(before);
    },
  );

  it(
    "that only names the node (what the scheduler sends) is allowed, also where the apiserver adds the node's " +
      'zone and region labels',
    async () => {
      const plain = pod('scheduled');
      const zoned = pod('scheduled-zoned');
      await create(plain.manifest, zoned.manifest);

      expectAllowed(await bind(plain.name, 'some-node'));
      expectAllowed(await bind(zoned.name, NODE));

      expect((await stamp(plain, '{.spec.nodeName}')).content).toBe('some-node');
      const labels = JSON.parse((await stamp(zoned, '{.metadata.labels}')).content) as Record<string, string>;
      expect(labels).toMatchObject({ [ZONE]: 'zone-a', [REGION]: 'region-1', [LOCK_LABEL.key]: LOCK_LABEL.value });
    },
  );
});

it('a Binding with annotations of an unlocked pod is allowed', async () => {
  const p = pod('free', false);
  await create(p.manifest);

  expectAllowed(await bind(p.name, 'some-node', { annotations: { owner: 'team-b' } }));
  expect(
    await kubectlOk(kubectl, ['get', 'pod', p.name, '-o', 'jsonpath={.metadata.annotations.owner}'], { namespace: ns }),
  ).toBe('team-b');
});
