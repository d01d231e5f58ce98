// The ValidatingWebhookConfiguration: fail closed, never blind to kube-system or Bulwark's
// own namespace, and one entry per way of narrowing traffic.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/admission/types.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { dig, find, render, type Manifest } from './helm.ts';

interface Webhook {
  name: string;
  rules: { apiGroups: string[]; apiVersions: string[]; resources: string[]; operations: string[]; scope: string }[];
  objectSelector?: unknown;
  namespaceSelector: unknown;
  clientConfig: { url?: string; service?: Record<string, unknown>; caBundle?: string };
  failurePolicy: string;
  sideEffects: string;
  admissionReviewVersions: string[];
  matchPolicy: string;
  timeoutSeconds: number;
  matchConditions?: { name: string; expression: string }[];
}

function webhooks(manifests: Manifest[]): Webhook[] {
  return dig(find(manifests, 'ValidatingWebhookConfiguration'), 'webhooks');
}

function byName(list: Webhook[], name: string): Webhook {
  const found = list.find((w) => w.name === name);
  if (!found) throw new Error(`no webhook ${name} in ${list.map((w) => w.name).join(', ')}`);
  return found;
}

describe('webhook entries (defaults)', async () => {
  const list = webhooks(await render());

  it('has separate entries for locks, subresources, policies, namespace labels, images and guards', () => {
    expect(list.map((w) => w.name)).toEqual([
      'immutability.bulwark.dev',
      'subresources.bulwark.dev',
      'policies.bulwark.dev',
      'namespaces.bulwark.dev',
      'images.bulwark.dev',
      'guards.bulwark.dev',
    ]);
  });

  it(
    'fails closed, without side effects on a dry run, v1 reviews, equivalent versions, 10 s timeout, all via the ' +
      'Service /validate',
    () => {
      for (const w of list) {
        expect(w, w.name).toMatchObject({
          failurePolicy: 'Fail',
          // The one write: a lock admitted into a namespace removes its bulwark.dev/locks mark.
          sideEffects: 'NoneOnDryRun',
          admissionReviewVersions: ['v1'],
          matchPolicy: 'Equivalent',
          timeoutSeconds: 10,
        });
        expect(w.clientConfig.service, w.name).toEqual({
          name: 'bulwark',
          namespace: 'bulwark-system',
          path: '/validate',
          port: 443,
        });
        expect(w.clientConfig.url, w.name).toBeUndefined();
        expect(w.clientConfig.caBundle, w.name).toMatch(/^[A-Za-z0-9+/]+=*$/);
      }
    },
  );

  it('never sees kube-system or the release namespace; skips namespaces marked as holding nothing to decide', () => {
    const excluded = {
      key: 'kubernetes.io/metadata.name',
      operator: 'NotIn',
      values: ['kube-system', 'bulwark-system'],
    };
    const marked = (key: string) => ({ key, operator: 'NotIn', values: ['none'] });
    const expected: Record<string, unknown[]> = {
      'subresources.bulwark.dev': [excluded, marked('bulwark.dev/locks')],
      'guards.bulwark.dev': [excluded, marked('bulwark.dev/locks')],
      'images.bulwark.dev': [excluded, marked('bulwark.dev/images')],
    };
    for (const w of list)
      expect(w.namespaceSelector, w.name).toEqual({ matchExpressions: expected[w.name] ?? [excluded] });
  });

  it('with webhook.namespaceMarks=false, no entry is scoped by a mark and no mark guard is rendered', async () => {
    const manifests = await render({ webhook: { namespaceMarks: false } });
    for (const w of webhooks(manifests))
      expect(JSON.stringify(w.namespaceSelector), w.name).not.toContain('bulwark.dev/');
    expect(manifests.some((m) => m.metadata.name === 'bulwark-namespace-marks')).toBe(false);
  });

  it('sends CREATE, UPDATE and DELETE of anything carrying the lock label, subresources included', () => {
    const w = byName(list, 'immutability.bulwark.dev');
    expect(w.rules).toEqual([
      {
        apiGroups: ['*'],
        apiVersions: ['*'],
        resources: ['*/*'],
        operations: ['CREATE', 'UPDATE', 'DELETE'],
        scope: '*',
      },
    ]);
    expect(w.objectSelector).toEqual({ matchLabels: { 'bulwark.dev/immutable': 'true' } });
  });

  it('sends the creates of locked objects whatever rbac.listSecrets says (one rule, no special case)', async () => {
    for (const listSecrets of [true, false]) {
      const w = byName(webhooks(await render({ rbac: { listSecrets } })), 'immutability.bulwark.dev');
      expect(w.rules.map((r) => r.operations)).toEqual([['CREATE', 'UPDATE', 'DELETE']]);
    }
  });

  it('sends scale, eviction and bindings without an objectSelector (their objects lack the parent`s labels)', () => {
    const w = byName(list, 'subresources.bulwark.dev');
    expect(w.objectSelector).toBeUndefined();
    expect(w.rules.map((r) => [r.apiGroups, r.resources, r.operations])).toEqual([
      [['*'], ['*/scale'], ['UPDATE']],
      [[''], ['pods/eviction', 'pods/binding', 'bindings'], ['CREATE']],
    ]);
    // Plain bindings (the scheduler's) are not sent: scheduling never waits for Bulwark.
    expect(dig(w, 'matchConditions', 0, 'expression')).toMatch(
      /request\.subResource == 'binding'.*object\.metadata\.annotations.*topology\.kubernetes\.io\/zone/s,
    );
  });

  it('sends every create, update and delete of Bulwark`s own objects (deleting a policy can loosen locks)', () => {
    const w = byName(list, 'policies.bulwark.dev');
    expect(w.objectSelector).toBeUndefined();
    expect(w.rules).toEqual([
      {
        apiGroups: ['bulwark.dev'],
        apiVersions: ['*'],
        resources: ['immutabilitypolicies', 'imagepolicies', 'unlockrequests', 'localunlockrequests'],
        operations: ['CREATE', 'UPDATE', 'DELETE'],
        scope: '*',
      },
    ]);
  });

  it('sends namespace updates only when their labels change', () => {
    const w = byName(list, 'namespaces.bulwark.dev');
    // Labels change through status and finalize too.
    expect(w.rules).toEqual([
      {
        apiGroups: [''],
        apiVersions: ['v1'],
        resources: ['namespaces', 'namespaces/status', 'namespaces/finalize'],
        operations: ['UPDATE'],
        scope: 'Cluster',
      },
    ]);
    expect(w.matchConditions).toHaveLength(1);
    expect(w.matchConditions?.[0]?.expression).toMatch(/object\.metadata\.labels .*!=.*oldObject\.metadata\.labels/s);
  });

  it('sends pods, ephemeral containers and every pod-template kind for images', () => {
    const w = byName(list, 'images.bulwark.dev');
    expect(w.objectSelector).toBeUndefined();
    const covered = w.rules.flatMap((r) => r.resources.map((res) => `${r.apiGroups[0] || 'core'}/${res}`));
    expect(covered.sort()).toEqual([
      'apps/daemonsets',
      'apps/deployments',
      'apps/replicasets',
      'apps/statefulsets',
      'batch/cronjobs',
      'batch/jobs',
      'core/pods',
      'core/pods/ephemeralcontainers',
      'core/replicationcontrollers',
    ]);
    for (const r of w.rules) expect(r.operations).toEqual(['CREATE', 'UPDATE']);
  });

  it('sends DELETE of namespaces and CRDs, UPDATE of CRDs, and CREATE and UPDATE of APIServices to the guards', () => {
    const w = byName(list, 'guards.bulwark.dev');
    expect(w.rules.map((r) => [r.apiGroups, r.resources, r.operations])).toEqual([
      [[''], ['namespaces'], ['DELETE']],
      [['apiextensions.k8s.io'], ['customresourcedefinitions'], ['UPDATE', 'DELETE']],
      [['apiregistration.k8s.io'], ['apiservices'], ['CREATE', 'UPDATE']],
    ]);
  });
});

describe('webhook values', () => {
  it('points every entry at webhook.url and can run without any in-cluster Bulwark', async () => {
    const url = 'https://127.0.0.1:30443/validate';
    const manifests = await render({ webhook: { url }, deployment: { enabled: false } });
    for (const w of webhooks(manifests)) {
      expect(w.clientConfig.url).toBe(url);
      expect(w.clientConfig.service).toBeUndefined();
    }
    const kinds = manifests.map((m) => m.kind);
    for (const absent of ['Deployment', 'Service', 'PodDisruptionBudget']) expect(kinds).not.toContain(absent);
  });

  it('leaves out images and guards when they are disabled', async () => {
    const names = webhooks(await render({ images: { enabled: false }, guards: { enabled: false } })).map((w) => w.name);
    expect(names).toEqual([
      'immutability.bulwark.dev',
      'subresources.bulwark.dev',
      'policies.bulwark.dev',
      'namespaces.bulwark.dev',
    ]);
  });

  it('adds excluded namespaces to the always-excluded ones and follows the release namespace', async () => {
    const list = webhooks(
      await render({ webhook: { excludedNamespaces: ['cert-manager', 'kube-system'] } }, { namespace: 'security' }),
    );
    for (const w of list)
      expect(dig(w, 'namespaceSelector', 'matchExpressions', 0, 'values')).toEqual([
        'kube-system',
        'security',
        'cert-manager',
      ]);
  });

  it('uses the configured lock label, timeout and failure policy', async () => {
    const list = webhooks(
      await render({
        lockLabel: { key: 'example.com/frozen', value: 'yes' },
        webhook: { timeoutSeconds: 30, failurePolicy: 'Ignore' },
      }),
    );
    expect(byName(list, 'immutability.bulwark.dev').objectSelector).toEqual({
      matchLabels: { 'example.com/frozen': 'yes' },
    });
    for (const w of list) expect(w.timeoutSeconds).toBe(30);
    expect(list.map((w) => [w.name, w.failurePolicy])).toEqual([
      ['immutability.bulwark.dev', 'Ignore'],
      ['subresources.bulwark.dev', 'Ignore'],
      // An UnlockRequest or policy stored unchecked would be honoured later: never Ignore.
      ['policies.bulwark.dev', 'Fail'],
      ['namespaces.bulwark.dev', 'Ignore'],
      ['images.bulwark.dev', 'Ignore'],
      ['guards.bulwark.dev', 'Ignore'],
    ]);
  });
});

// The matchConditions' CEL, evaluated on captured reviews (cel-js; the apiserver compiles the
// same expressions when the chart is installed in test/e2e/helm.test.ts and test/e2e-full).
describe('matchConditions', async () => {
  const { Environment } = await import('@marcbachmann/cel-js');
  const list = webhooks(await render());
  const environment = new Environment({ unlistedVariablesAreDyn: true });
  const sends = (entry: string, review: { request: object }) => {
    const request = review.request as { object?: unknown; oldObject?: unknown };
    return (byName(list, entry).matchConditions ?? []).every(
      (c) =>
        environment.evaluate(c.expression, {
          request,
          object: request.object ?? null,
          oldObject: request.oldObject ?? null,
        }) === true,
    );
  };

  it('images: sends creates and updates that change spec, not updates of metadata alone', () => {
    expect(sends('images.bulwark.dev', loadReview('deployment-create'))).toBe(true);
    expect(sends('images.bulwark.dev', loadReview('deployment-image-changed'))).toBe(true);
    const annotated = loadReview('deployment-image-changed');
    const request = annotated.request as unknown as { object: KubeObject; oldObject: KubeObject };
    request.object = structuredClone(request.oldObject);
    request.object.metadata = { ...request.object.metadata, annotations: { note: 'x' } };
    expect(sends('images.bulwark.dev', annotated)).toBe(false);
  });

  it('guards: sends deletions and spec changes of CRDs, not their relabelling', () => {
    const crd = (spec: Record<string, unknown>, labels: Record<string, string> = {}) => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com', labels },
      spec,
    });
    const review = (operation: string, object: unknown, oldObject: unknown) => ({
      request: { operation, resource: { resource: 'customresourcedefinitions' }, object, oldObject },
    });
    const spec = { group: 'example.com', scope: 'Namespaced' };
    expect(sends('guards.bulwark.dev', review('DELETE', null, crd(spec)))).toBe(true);
    expect(sends('guards.bulwark.dev', review('UPDATE', crd({ ...spec, scope: 'Cluster' }), crd(spec)))).toBe(true);
    expect(sends('guards.bulwark.dev', review('UPDATE', crd(spec, { team: 'a' }), crd(spec)))).toBe(false);
  });
});
