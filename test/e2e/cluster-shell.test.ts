// The I/O shell's cluster side, in-process against the real apiserver: the API client and
// its coded errors, discovery, Secrets, the locked-object listings, the fact resolver and
// the policy informers, as main.ts wires them.

import type { KubeConnection } from '../../src/cluster/kube-config.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { AdmissionRequest } from '../../src/admission/types.ts';
import { createDiscovery } from '../../src/cluster/discovery.ts';
import { findExposedObjects } from '../../src/cluster/exposed-objects.ts';
import { clusterFactResolver } from '../../src/cluster/facts.ts';
import { createKubeReader, loadKubeConfig, type KubeClient } from '../../src/cluster/kube-client.ts';
import { findLockedContents } from '../../src/cluster/locked-contents.ts';
import { createClusterInformers, type ClusterInformers } from '../../src/cluster/policy-informers.ts';
import { policyStatusWriter } from '../../src/cluster/policy-status.ts';
import { createSecretSource } from '../../src/cluster/secrets.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createPolicyCompiler } from '../../src/policy/compiler.ts';
import { PolicyStore } from '../../src/policy/store.ts';
import { loadReview } from '../helpers/fixtures.ts';
import { e2eCluster, kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';

const TIMEOUT = { timeoutMs: 10_000 };
const logger = createLogger('silent');
let reader: KubeClient;
let ns: string;

/** The admin's kubeconfig with another server or token. */
async function variantReader(change: (kc: KubeConnection) => void): Promise<KubeClient> {
  const kc = (await loadKubeConfig('required', e2eCluster().kubeconfig))!;
  change(kc);
  return createKubeReader(kc);
}

beforeAll(async () => {
  reader = createKubeReader((await loadKubeConfig('required', e2eCluster().kubeconfig))!);
  ns = await newNamespace('shell');
  await kubectlOk(kubectl, ['label', 'namespace', ns, 'team=shop']);
  // Before the objects it governs: a policy naming approvers would loosen the built-in default for them.
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: stringify({
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'ImmutabilityPolicy',
      metadata: { name: `shell-${ns}` },
      spec: {
        match: { namespaces: [ns] },
        unlock: { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h' },
      },
    }),
  });
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: [
      stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'locked', namespace: ns, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
        data: { a: '1' },
      }),
      stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'key', namespace: ns, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
        stringData: { 'cosign.pub': 'PEM' },
      }),
      stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: ns, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: `registry.local/web@sha256:${'a'.repeat(64)}` }] },
          },
        },
      }),
    ].join('---\n'),
  });
});

describe('the API client', () => {
  it('reads objects, answers undefined for what does not exist, and patches', async () => {
    expect(await reader.getJson(`/api/v1/namespaces/${ns}/configmaps/locked`, TIMEOUT)).toMatchObject({
      data: { a: '1' },
    });
    expect(await reader.getJson(`/api/v1/namespaces/${ns}/configmaps/absent`, TIMEOUT)).toBeUndefined();
    await reader.mergePatch(`/api/v1/namespaces/${ns}`, { metadata: { annotations: { note: 'patched' } } }, TIMEOUT);
    expect(await reader.getJson(`/api/v1/namespaces/${ns}`, TIMEOUT)).toMatchObject({
      metadata: { annotations: { note: 'patched' } },
    });
  });

  it(
    'turns a refusal into KUBE_API_ERROR with the status, and an unreachable server into ' + 'KUBE_API_UNREACHABLE',
    async () => {
      const stranger = await variantReader((kc) => {
        for (const user of kc.users) (user as { token?: string }).token = 'not-a-token';
      });
      await expect(stranger.getJson('/api/v1/namespaces', TIMEOUT)).rejects.toMatchObject({
        code: 'KUBE_API_ERROR',
        upstream: { status: 401 },
      });
      const nowhere = await variantReader((kc) => {
        for (const cluster of kc.clusters) (cluster as { server: string }).server = 'https://127.0.0.1:9';
      });
      await expect(nowhere.getJson('/api/v1/namespaces', TIMEOUT)).rejects.toMatchObject({
        code: 'KUBE_API_UNREACHABLE',
        message: expect.stringContaining('ECONNREFUSED'),
      });
    },
  );
});

describe('discovery, Secrets and locked objects', () => {
  it('resolves what people type to resources', async () => {
    const discovery = createDiscovery(reader, TIMEOUT);
    expect(await discovery.resolve('cm')).toMatchObject({
      group: '',
      kind: 'ConfigMap',
      resource: 'configmaps',
      namespaced: true,
    });
    expect(await discovery.resolve('deployments.apps')).toMatchObject({ group: 'apps', kind: 'Deployment' });
    expect(await discovery.find('bulwark.dev', 'UnlockRequest')).toMatchObject({
      resource: 'unlockrequests',
      namespaced: false,
    });
    expect(await discovery.resolve('no-such-things')).toBeUndefined();
  });

  it('reads Secrets decoded, with their labels; an absent one is undefined', async () => {
    const read = createSecretSource({ kube: reader });
    const secret = await read({ namespace: ns, name: 'key' }, AbortSignal.timeout(10_000));
    expect(secret?.data.get('cosign.pub')?.toString()).toBe('PEM');
    expect(secret?.labels[LOCK_LABEL.key]).toBe(LOCK_LABEL.value);
    expect(await read({ namespace: ns, name: 'absent' }, AbortSignal.timeout(10_000))).toBeUndefined();
  });

  it('lists the locked objects a namespace holds, across resources', async () => {
    const request = {
      ...loadReview('configmap-delete-unlabelled').request,
      kind: { group: '', version: 'v1', kind: 'Namespace' },
      resource: { group: '', version: 'v1', resource: 'namespaces' },
      name: ns,
      namespace: ns,
    } as AdmissionRequest;
    const found = await findLockedContents({
      reader,
      discovery: createDiscovery(reader, TIMEOUT),
      request,
      label: LOCK_LABEL,
      timeoutMs: 10_000,
    });
    expect(found).toMatchObject({ status: 'listed', more: false });
    expect(found.status === 'listed' && [...found.objects].sort()).toEqual([
      'ConfigMap locked',
      'Deployment web',
      'Secret key',
    ]);
  });
});

describe('the locked objects a governance change could expose', () => {
  it('for a namespace relabelling: every locked object in it, with its labels and its namespace labels', async () => {
    const request = {
      ...loadReview('configmap-create-labelled').request,
      operation: 'UPDATE',
      kind: { group: '', version: 'v1', kind: 'Namespace' },
      resource: { group: '', version: 'v1', resource: 'namespaces' },
      name: ns,
      namespace: ns,
    } as AdmissionRequest;
    const exposed = await findExposedObjects({
      reader,
      discovery: createDiscovery(reader, TIMEOUT),
      request,
      label: LOCK_LABEL,
      timeoutMs: 10_000,
      namespaceLabels: () => ({ team: 'shop' }),
    });
    expect(
      exposed.status === 'listed' && exposed.objects.map((o) => `${o.group}/${o.kind} ${o.namespace}/${o.name}`).sort(),
    ).toEqual([`/ConfigMap ${ns}/locked`, `/Secret ${ns}/key`, `apps/Deployment ${ns}/web`]);
    expect(exposed.status === 'listed' && exposed.namespaceLabels.get(ns)).toEqual({ team: 'shop' });
  });

  it('for an ImmutabilityPolicy write: the locked objects of the kinds it covers, cluster-wide', async () => {
    const policy = {
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'ImmutabilityPolicy',
      metadata: { name: 'p' },
      spec: { match: { resources: [{ apiGroups: ['apps'], kinds: ['Deployment'] }] } },
    };
    const request = {
      ...loadReview('configmap-create-labelled').request,
      kind: { group: 'bulwark.dev', version: 'v1alpha1', kind: 'ImmutabilityPolicy' },
      object: policy,
    } as AdmissionRequest;
    const exposed = await findExposedObjects({
      reader,
      discovery: createDiscovery(reader, TIMEOUT),
      request,
      label: LOCK_LABEL,
      timeoutMs: 10_000,
      namespaceLabels: () => undefined,
    });
    expect(exposed.status === 'listed' && exposed.objects.filter((o) => o.namespace === ns).map((o) => o.name)).toEqual(
      ['web'],
    );
    expect(exposed.status === 'listed' && exposed.objects.every((o) => o.kind === 'Deployment')).toBe(true);
  });

  it('a listing that fails is unavailable, never a throw', async () => {
    const nowhere = await variantReader((kc) => {
      for (const cluster of kc.clusters) (cluster as { server: string }).server = 'https://127.0.0.1:9';
    });
    const request = {
      ...loadReview('configmap-create-labelled').request,
      operation: 'UPDATE',
      kind: { group: '', version: 'v1', kind: 'Namespace' },
      name: ns,
    } as AdmissionRequest;
    const exposed = await findExposedObjects({
      reader: nowhere,
      discovery: createDiscovery(nowhere, TIMEOUT),
      request,
      label: LOCK_LABEL,
      timeoutMs: 2_000,
      namespaceLabels: () => undefined,
    });
    expect(exposed).toMatchObject({
      status: 'unavailable',
      reason: expect.stringContaining('cannot list the locked objects it could affect'),
    });
  });
});

describe('the fact resolver and the informers, as main.ts wires them', () => {
  const compiler = createPolicyCompiler();
  const store = new PolicyStore({
    compiler,
    sources: ['ImmutabilityPolicy', 'ImagePolicy', 'Namespace', 'UnlockRequest'],
  });
  let informers: ClusterInformers;

  beforeAll(async () => {
    informers = createClusterInformers({ reader, store, compiler, logger });
    await informers.start();
  });

  afterAll(() => informers.stop());

  it('are synced once every informer has listed, and serve namespace labels and UnlockRequests', async () => {
    await expect.poll(() => store.pending(), { timeout: 20_000 }).toEqual([]);
    expect(informers.namespaceLabels(ns)).toMatchObject({ team: 'shop' });
    await kubectlOk(kubectl, ['create', '-f', '-'], {
      user: 'alice',
      input: stringify({
        apiVersion: 'bulwark.dev/v1alpha1',
        kind: 'UnlockRequest',
        metadata: { name: `shell-${ns}` },
        spec: {
          target: { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'locked' },
          operations: ['UPDATE'],
          reason: 'test',
          duration: '30m',
          requester: 'alice',
        },
      }),
    });
    await expect
      .poll(() => informers.unlocksFor(ns, 'locked').map((u) => u.name), { timeout: 20_000 })
      .toEqual([`shell-${ns}`]);
    await expect
      .poll(
        () =>
          store
            .snapshot()
            .immutability.lookup('', 'ConfigMap', ns)
            .map((p) => p.name),
        { timeout: 20_000 },
      )
      .toContain(`shell-${ns}`);
  });

  it(
    'look up the parent of a scale request, the time, the namespace labels and the unlocks aimed at the ' + 'object',
    async () => {
      const resolve = clusterFactResolver({
        reader,
        discovery: createDiscovery(reader, TIMEOUT),
        informers,
        timeoutMs: 10_000,
        now: () => 1_000,
      });
      const scale = { ...loadReview('deployment-scale').request, namespace: ns, name: 'web' };
      const facts = await resolve(scale, store.snapshot());
      expect(facts.now).toBe(1_000);
      expect(facts.namespaceLabels).toMatchObject({ team: 'shop' });
      expect(facts.parent).toMatchObject({
        status: 'found',
        object: { kind: 'Deployment', metadata: { name: 'web', namespace: ns } },
      });
      const update = { ...loadReview('configmap-apply-changed').request, namespace: ns, name: 'locked' };
      expect((await resolve(update, store.snapshot())).unlocks?.map((u) => u.name)).toEqual([`shell-${ns}`]);
    },
  );

  it('report a policy that does not compile in its status', async () => {
    const name = `shell-status-${ns}`;
    await kubectlOk(kubectl, ['apply', '-f', '-'], {
      input: stringify({
        apiVersion: 'bulwark.dev/v1alpha1',
        kind: 'ImmutabilityPolicy',
        metadata: { name },
        spec: { match: { namespaces: [`never-${ns}`] } },
      }),
    });
    const policy = (await reader.getJson(`/apis/bulwark.dev/v1alpha1/immutabilitypolicies/${name}`, TIMEOUT)) as {
      metadata: { uid: string; resourceVersion: string; generation: number };
    };
    const write = policyStatusWriter({ reader, logger, now: () => new Date('2026-11-29T10:00:00Z') });
    write({
      kind: 'ImmutabilityPolicy',
      source: {
        name,
        uid: policy.metadata.uid,
        resourceVersion: policy.metadata.resourceVersion,
        generation: policy.metadata.generation,
      },
      ready: false,
      message: 'spec.x: stand-in for a problem',
      problems: [],
    });
    await expect
      .poll(
        async () =>
          (
            (await reader.getJson(`/apis/bulwark.dev/v1alpha1/immutabilitypolicies/${name}`, TIMEOUT)) as {
              status?: { conditions?: unknown[] };
            }
          ).status?.conditions?.[0],
        { timeout: 10_000 },
      )
      .toMatchObject({
        type: 'Ready',
        status: 'False',
        reason: 'Invalid',
        message: expect.stringContaining('spec.x: stand-in for a problem'),
        lastTransitionTime: '2026-11-29T10:00:00Z',
      });
  });
});
