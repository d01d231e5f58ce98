// The lock protects every kind alike: a Secret, a Deployment, a cluster-scoped ClusterRole
// and a custom resource (Widget, from the test CRD) can be neither changed nor deleted when
// labelled, and behave normally when not. The scale subresource (whose request carries no
// labels: Bulwark reads the parent) and the status subresource are covered here too.

import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { kubectl, newNamespace, type KubectlResult } from '../../harness/context.ts';
import {
  create,
  ensureWidgetCrd,
  expectAllowed,
  expectChangeDenied,
  expectDeleteDenied,
  expectGone,
  expectUntouched,
  IMAGE,
  kubectlOn,
  LOCK_LABELS,
  stamp,
  target,
  yaml,
  type Ref,
} from './helpers/immutability.ts';

const OTHER_IMAGE = IMAGE.replace('registry.local/x@', 'registry.local/y@');
const CLUSTER_ROLE_SUFFIX = randomBytes(4).toString('hex');

let ns: string;
beforeAll(async () => {
  ns = await newNamespace('immut-kinds');
  await ensureWidgetCrd();
});

function metadata(ref: Ref, locked: boolean): Record<string, unknown> {
  return {
    name: ref.name,
    ...(ref.namespace ? { namespace: ref.namespace } : {}),
    ...(locked ? { labels: { ...LOCK_LABELS } } : {}),
  };
}

function deployment(ref: Ref, locked: boolean): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(ref, locked),
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: ref.name } },
      template: { metadata: { labels: { app: ref.name } }, spec: { containers: [{ name: 'app', image: IMAGE }] } },
    },
  };
}

function widget(ref: Ref, locked: boolean): Record<string, unknown> {
  return {
    apiVersion: 'e2e.bulwark.dev/v1',
    kind: 'Widget',
    metadata: metadata(ref, locked),
    spec: { size: 'small', replicas: 1 },
  };
}

interface KindCase {
  kind: string;
  /** What kubectl calls it. */
  resource: string;
  clusterScoped?: boolean;
  manifest: (ref: Ref, locked: boolean) => Record<string, unknown>;
  /** A change as a user would make it (kubectl args). */
  change: (ref: Ref) => string[];
  /** How Bulwark names that change. */
  changes: string;
  /** jsonpath of the content the change touches. */
  content: string;
}

const KINDS: KindCase[] = [
  {
    kind: 'Secret',
    resource: 'secret',
    manifest: (ref, locked) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: metadata(ref, locked),
      data: { password: Buffer.from('hunter2').toString('base64') },
    }),
    // stringData is folded into data by the apiserver before admission.
    change: (ref) => ['patch', 'secret', ref.name, '--type=merge', '-p', '{"stringData":{"password":"changed"}}'],
    changes: 'data.password (changed)',
    content: '{.data}',
  },
  {
    kind: 'Deployment',
    resource: 'deployment',
    manifest: deployment,
    change: (ref) => ['set', 'image', `deployment/${ref.name}`, `app=${OTHER_IMAGE}`],
    changes: 'spec.template.spec.containers[0].image (changed)',
    content: '{.spec.template.spec.containers[0].image}',
  },
  {
    kind: 'ClusterRole',
    resource: 'clusterrole',
    clusterScoped: true,
    manifest: (ref, locked) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: metadata(ref, locked),
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
    }),
    change: (ref) => [
      'patch',
      'clusterrole',
      ref.name,
      '--type=json',
      '-p',
      '[{"op":"add","path":"/rules/0/verbs/-","value":"list"}]',
    ],
    changes: 'rules[0].verbs[1] (added)',
    content: '{.rules}',
  },
  {
    kind: 'Widget',
    resource: 'widget',
    manifest: widget,
    change: (ref) => ['patch', 'widget', ref.name, '--type=merge', '-p', '{"spec":{"size":"large"}}'],
    changes: 'spec.size (changed)',
    content: '{.spec}',
  },
];

describe.each(KINDS)('$kind', ({ kind, resource, clusterScoped, manifest, change, changes, content }) => {
  const ref = (state: 'locked' | 'free'): Ref =>
    clusterScoped
      ? { resource, name: `bulwark-e2e-immut-${state}-${CLUSTER_ROLE_SUFFIX}` }
      : { resource, name: `${resource}-${state}`, namespace: ns };

  beforeAll(async () => {
    await create(manifest(ref('locked'), true), manifest(ref('free'), false));
  });

  it('locked: a change is denied naming the path, the delete is denied, the object is untouched', async () => {
    const locked = ref('locked');
    const before = await stamp(locked, content);

    expectChangeDenied(await kubectlOn(locked, change(locked), { user: 'alice' }), target(kind, locked), changes);
    expectDeleteDenied(
      await kubectlOn(locked, ['delete', resource, locked.name], { user: 'alice' }),
      target(kind, locked),
    );

    await expectUntouched(locked, before, content);
  });

  it('unlabelled: the same change is allowed and the delete succeeds', async () => {
    const free = ref('free');
    const before = await stamp(free, content);

    expectAllowed(await kubectlOn(free, change(free), { user: 'alice' }));
    expect((await stamp(free, content)).content).not.toBe(before.content);
    expectAllowed(await kubectlOn(free, ['delete', resource, free.name], { user: 'alice' }));
    await expectGone(free);
  });
});

describe('a locked Secret written from a stringData manifest', () => {
  it('accepts reapplying the identical manifest (the apiserver folds stringData into data)', async () => {
    const ref = { resource: 'secret', name: 'string-data', namespace: ns };
    const manifest = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: metadata(ref, true),
      stringData: { password: 'hunter2' },
    };
    expectAllowed(await kubectl(['apply', '-f', '-'], { user: 'alice', input: yaml(manifest) }));
    const before = await stamp(ref);

    // The live object has no stringData, so kubectl sends it again: a real PATCH, allowed.
    const again = await kubectl(['apply', '-f', '-'], { user: 'alice', input: yaml(manifest) });
    expectAllowed(again);
    expect(again.stdout).toContain('secret/string-data configured');
    expect(await stamp(ref)).toMatchObject({ uid: before.uid, content: before.content });

    const changed = { ...manifest, stringData: { password: 'changed' } };
    expectChangeDenied(
      await kubectl(['apply', '-f', '-'], { user: 'alice', input: yaml(changed) }),
      target('Secret', ref),
      'data.password (changed)',
    );
  });
});

describe('the scale subresource (the request is a Scale without labels; Bulwark reads the parent)', () => {
  const scale = (resource: string, name: string, replicas: number): Promise<KubectlResult> =>
    kubectl(['scale', resource, name, `--replicas=${replicas}`], { user: 'alice', namespace: ns });

  it.each([
    { kind: 'Deployment', resource: 'deployment', manifest: deployment },
    { kind: 'Widget', resource: 'widget', manifest: widget },
  ])(
    'kubectl scale $resource --replicas=3 of a locked $kind is denied naming spec.replicas; unlabelled is scaled',
    async ({ kind, resource, manifest }) => {
      const locked = { resource, name: `${resource}-scale-locked`, namespace: ns };
      const free = { resource, name: `${resource}-scale-free`, namespace: ns };
      await create(manifest(locked, true), manifest(free, false));
      const before = await stamp(locked, '{.spec.replicas}');
      expect(before.content).toBe('1');

      expectChangeDenied(
        await scale(resource, locked.name, 3),
        target(kind, locked),
        'spec.replicas (changed)',
        'scale',
      );
      await expectUntouched(locked, before, '{.spec.replicas}');

      expectAllowed(await scale(resource, free.name, 3));
      expect((await stamp(free, '{.spec.replicas}')).content).toBe('3');
    },
  );
});

describe('the status subresource', () => {
  it.each([
    {
      kind: 'Deployment',
      resource: 'deployment',
      manifest: deployment,
      status: { observedGeneration: 1 },
      read: '{.status.observedGeneration}',
      value: '1',
    },
    {
      kind: 'Widget',
      resource: 'widget',
      manifest: widget,
      status: { phase: 'Ready' },
      read: '{.status.phase}',
      value: 'Ready',
    },
  ])(
    'a status patch of a locked $kind is allowed and changes nothing else',
    async ({ resource, manifest, status, read, value }) => {
      const ref = { resource, name: `${resource}-status`, namespace: ns };
      await create(manifest(ref, true));
      const before = await stamp(ref, '{.spec}{"\\t"}{.metadata.labels}');

      const result = await kubectl(
        ['patch', resource, ref.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })],
        { user: 'alice', namespace: ns },
      );

      expectAllowed(result);
      expect(result.stdout).toContain(`/${ref.name} patched`);
      const after = await stamp(ref, `${read}{"\\t"}{.spec}{"\\t"}{.metadata.labels}`);
      expect(after.uid).toBe(before.uid);
      expect(after.content).toBe(`${value}\t${before.content}`);
    },
  );
});
