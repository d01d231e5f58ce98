// The bookkeeping annotations of a locked object carry no data. kubectl's last-applied
// annotation may change only to a record of the object's own content (or go away); the
// deployment controller's revision annotation only by that controller, to a number.
// Everything kubectl itself does keeps working: reapply, first apply of an object made
// by `kubectl create`, server-side apply over client-side apply.

import { beforeAll, describe, expect, it } from 'vitest';
import { kubectl, newNamespace, type UserName } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import {
  configMap,
  create,
  expectAllowed,
  expectChangeDenied,
  IMAGE,
  LOCK_LABELS,
  stamp,
  target,
  yaml,
  type Ref,
} from './helpers/immutability.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const REVISION = 'deployment.kubernetes.io/revision';
const LAST_APPLIED_PATH = `metadata.annotations["${LAST_APPLIED}"]`;
const REVISION_PATH = `metadata.annotations["${REVISION}"]`;
const DEPLOYMENT_CONTROLLER = 'system:serviceaccount:kube-system:deployment-controller';
const DATA = { color: 'blue' };

let ns: string;
beforeAll(async () => {
  ns = await newNamespace('immut-books');
});

const cm = (name: string): Ref => ({ resource: 'configmap', name, namespace: ns });

/**
 * `kubectl annotate --overwrite` as `user`, or as admin impersonating `as` (in group
 * system:masters too: the controller's own role may update but not patch).
 */
function annotate(ref: Ref, annotation: string, options: { user?: UserName; as?: string } = {}) {
  const args = [
    'annotate',
    '--overwrite',
    ref.resource,
    ref.name,
    annotation,
    ...(options.as ? [`--as=${options.as}`, '--as-group=system:masters'] : []),
  ];
  return kubectl(args, { namespace: ns, ...(options.user ? { user: options.user } : {}) });
}

async function annotationOf(ref: Ref, key: string): Promise<string> {
  return kubectlOk(
    kubectl,
    ['get', ref.resource, ref.name, '-o', `jsonpath={.metadata.annotations.${key.replace(/\./g, '\\.')}}`],
    { namespace: ns },
  );
}

describe('the last-applied annotation', () => {
  it('cannot be set to arbitrary data on a locked object made by kubectl create (added)', async () => {
    await create(configMap(cm('created'), DATA));
    const before = await stamp(cm('created'));

    const result = await annotate(cm('created'), `${LAST_APPLIED}={"smuggled":"${'x'.repeat(2000)}"}`, {
      user: 'alice',
    });

    expectChangeDenied(result, target('ConfigMap', cm('created')), `${LAST_APPLIED_PATH} (added)`);
    expect((await stamp(cm('created'))).resourceVersion).toBe(before.resourceVersion);
  });

  describe('on an object made by kubectl apply', () => {
    let applied: string;
    beforeAll(async () => {
      await kubectlOk(kubectl, ['apply', '-f', '-'], { user: 'alice', input: yaml(configMap(cm('applied'), DATA)) });
      applied = await annotationOf(cm('applied'), LAST_APPLIED);
      expect(JSON.parse(applied)).toMatchObject({ data: DATA });
    });

    it.each([
      {
        how: 'a record of fields the object does not have',
        value: () => applied.replace('"data":{', '"data":{"extra":"mallory",'),
      },
      { how: 'the same record with data hidden in whitespace', value: () => applied.replace(/,/g, ', \t ') },
      { how: 'the same record with data hidden in escapes', value: () => applied.replace('blue', '\\u0062lue') },
      { how: 'text that is not JSON', value: () => 'owner=mallory' },
    ])('cannot be changed to $how', async ({ value }) => {
      const before = await stamp(cm('applied'));

      const result = await annotate(cm('applied'), `${LAST_APPLIED}=${value()}`, { user: 'alice' });

      expectChangeDenied(result, target('ConfigMap', cm('applied')), `${LAST_APPLIED_PATH} (changed)`);
      expect(await stamp(cm('applied'))).toEqual(before);
      expect(await annotationOf(cm('applied'), LAST_APPLIED)).toBe(applied);
    });

    it('may be removed (that states nothing)', async () => {
      await kubectlOk(kubectl, ['apply', '-f', '-'], { user: 'alice', input: yaml(configMap(cm('forgotten'), DATA)) });

      expectAllowed(await annotate(cm('forgotten'), `${LAST_APPLIED}-`, { user: 'alice' }));
      expect(await annotationOf(cm('forgotten'), LAST_APPLIED)).toBe('');
    });
  });

  // The first kubectl apply of an object made otherwise writes the annotation from the
  // manifest, which may spell values as the apiserver does not store them.
  it.each([
    {
      kind: 'Secret',
      resource: 'secret',
      manifest: (name: string) => ({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: ns, labels: LOCK_LABELS },
        stringData: { password: 'hunter2' },
      }),
    },
    {
      kind: 'Deployment (quantities 0.5 and 1.5Gi, stored as 500m and 1536Mi; hostNetwork: false, which is not stored)',
      resource: 'deployment',
      manifest: (name: string) => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace: ns, labels: LOCK_LABELS },
        spec: {
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: {
              hostNetwork: false,
              containers: [{ name: 'app', image: IMAGE, resources: { requests: { cpu: 0.5, memory: '1.5Gi' } } }],
            },
          },
        },
      }),
    },
  ])('the first kubectl apply of a locked $kind made by kubectl create is allowed', async ({ resource, manifest }) => {
    const ref = { resource, name: `${resource}-first-apply`, namespace: ns };
    await create(manifest(ref.name));
    // Content only: the apiserver bumps a Deployment's generation when a quantity arrives
    // spelled differently, though it stores the same value.
    const content = '{.spec}{.data}';
    const before = await stamp(ref, content);

    const result = await kubectl(['apply', '-f', '-'], {
      user: 'alice',
      namespace: ns,
      input: yaml(manifest(ref.name)),
    });

    expectAllowed(result);
    expect(result.stderr).toContain(`missing the ${LAST_APPLIED} annotation`);
    expect(await annotationOf(ref, LAST_APPLIED)).not.toBe('');
    expect(await stamp(ref, content)).toMatchObject({ uid: before.uid, content: before.content });
  });

  it(
    'kubectl apply --server-side over a client-side applied Deployment is allowed (the apiserver rewrites the ' +
      'annotation)',
    async () => {
      const ref = { resource: 'deployment', name: 'ssa-over-csa', namespace: ns };
      const manifest = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: ref.name, namespace: ns, labels: LOCK_LABELS },
        spec: {
          selector: { matchLabels: { app: 'x' } },
          template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'app', image: IMAGE }] } },
        },
      };
      await kubectlOk(kubectl, ['apply', '-f', '-'], { user: 'alice', input: yaml(manifest) });
      const annotationBefore = await annotationOf(ref, LAST_APPLIED);

      const result = await kubectl(['apply', '--server-side', '-f', '-'], { user: 'alice', input: yaml(manifest) });

      expectAllowed(result);
      expect(result.stdout).toContain('serverside-applied');
      expect(await annotationOf(ref, LAST_APPLIED)).not.toBe(annotationBefore);
    },
  );
});

describe('the deployment revision annotation', () => {
  const deployment = (name: string) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: LOCK_LABELS },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: IMAGE }] } },
    },
  });
  const ref = (): Ref => ({ resource: 'deployment', name: 'revisioned', namespace: ns });
  beforeAll(async () => {
    await create(deployment(ref().name));
  });

  it('cannot be set by anyone but the deployment controller', async () => {
    expectChangeDenied(
      await annotate(ref(), `${REVISION}=7`, { user: 'alice' }),
      target('Deployment', ref()),
      `${REVISION_PATH} (added)`,
    );
    expect(await annotationOf(ref(), REVISION)).toBe('');
  });

  it('is set by the deployment controller to a number, but not to anything else', async () => {
    expectAllowed(await annotate(ref(), `${REVISION}=7`, { as: DEPLOYMENT_CONTROLLER }));
    expect(await annotationOf(ref(), REVISION)).toBe('7');

    expectChangeDenied(
      await annotate(ref(), `${REVISION}=hello`, { as: DEPLOYMENT_CONTROLLER }),
      target('Deployment', ref()),
      `${REVISION_PATH} (changed)`,
    );
    expect(await annotationOf(ref(), REVISION)).toBe('7');
  });
});
