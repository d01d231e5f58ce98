// What the guards list, against a fake API that answers like kube-apiserver 1.36:
// discovery at every served version (aggregated, or per group version from an older
// server), CRDs that discovery does not show yet, metadata-only lists, 404 as empty,
// other failures reported (the guard then fails closed).

import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, KubeObject } from '../../../src/admission/types.ts';
import { loadApiResources } from '../../../src/cluster/api-resources.ts';
import { createDiscovery } from '../../../src/cluster/discovery.ts';
import type { KubeReader } from '../../../src/cluster/kube-client.ts';
import { BaseError } from '../../../src/errors.ts';
import { findLockedContents } from '../../../src/cluster/locked-contents.ts';
import { loadReview } from '../../helpers/fixtures.ts';

const LABEL = { key: 'bulwark.dev/immutable', value: 'true' };
const SELECTOR = `labelSelector=${encodeURIComponent('bulwark.dev/immutable=true')}&limit=5`;

type Answer = unknown | ((accept?: string) => unknown);

/** Answers GETs from a table (path with query); unknown paths are 404 (undefined). Records each call. */
function fakeApi(answers: Record<string, Answer>) {
  const calls: { path: string; accept?: string }[] = [];
  const reader = {
    calls,
    server: 'https://fake',
    async getJson(path: string, options: { timeoutMs: number; accept?: string }) {
      calls.push({ path, ...(options.accept ? { accept: options.accept } : {}) });
      const answer = answers[path];
      return typeof answer === 'function'
        ? (answer as (a?: string) => unknown)(options.accept)
        : structuredClone(answer);
    },
  };
  return reader as typeof reader & KubeReader;
}

const resource = (name: string, kind: string, namespaced = true) => ({
  resource: name,
  responseKind: { group: '', version: '', kind },
  scope: namespaced ? 'Namespaced' : 'Cluster',
  verbs: ['get', 'list'],
});
const aggregated = (items: unknown[]) => (accept?: string) =>
  accept?.includes('as=APIGroupDiscoveryList')
    ? { kind: 'APIGroupDiscoveryList', items }
    : { kind: 'APIGroupList', groups: [] };

/** Core v1 with configmaps; group `e2e.x` with v1 (alphas) preferred and v1beta1 (alphas and betas). */
const DISCOVERY = {
  '/api': aggregated([
    {
      metadata: {},
      versions: [
        {
          version: 'v1',
          resources: [
            resource('configmaps', 'ConfigMap'),
            resource('namespaces', 'Namespace', false),
            { ...resource('pods/status', 'Pod') },
          ],
        },
      ],
    },
  ]),
  '/apis': aggregated([
    {
      metadata: { name: 'e2e.x' },
      versions: [
        { version: 'v1', resources: [resource('alphas', 'Alpha')] },
        { version: 'v1beta1', resources: [resource('alphas', 'Alpha'), resource('betas', 'Beta')] },
      ],
    },
  ]),
};

function namespaceDelete(name: string): AdmissionRequest {
  const r = structuredClone(loadReview('configmap-delete-unlabelled').request);
  r.kind = { group: '', version: 'v1', kind: 'Namespace' };
  r.resource = { group: '', version: 'v1', resource: 'namespaces' };
  r.name = name;
  r.namespace = name;
  return r;
}

function crdRequest(crd: KubeObject): AdmissionRequest {
  const r = structuredClone(loadReview('configmap-delete-unlabelled').request);
  r.kind = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' };
  r.name = crd.metadata?.name ?? '';
  delete r.namespace;
  r.oldObject = crd;
  return r;
}

const list = (...names: string[]) => ({
  kind: 'PartialObjectMetadataList',
  items: names.map((name) => ({ metadata: { name } })),
  metadata: {},
});
const find = (reader: KubeReader, request: AdmissionRequest) =>
  findLockedContents({ reader, discovery: createDiscovery(reader), request, label: LABEL, timeoutMs: 2000 });

describe('API resources', () => {
  it('every resource once, at the preferred version that serves it, else the next', async () => {
    const resources = await loadApiResources(fakeApi(DISCOVERY), 1000);
    expect(resources.map((r) => `${r.group}/${r.version}/${r.resource}`)).toEqual([
      '/v1/configmaps',
      '/v1/namespaces',
      'e2e.x/v1/alphas',
      'e2e.x/v1beta1/betas',
    ]);
  });

  it(
    'from a server without aggregated discovery: one request per group version, a vanished one serving ' + 'nothing',
    async () => {
      const reader = fakeApi({
        '/api': { kind: 'APIVersions', versions: ['v1'] },
        '/apis': {
          kind: 'APIGroupList',
          groups: [
            {
              name: 'e2e.x',
              versions: [{ version: 'v1beta1' }, { version: 'v1' }, { version: 'v0' }],
              preferredVersion: { version: 'v1' },
            },
          ],
        },
        '/api/v1': { resources: [{ name: 'configmaps', kind: 'ConfigMap', namespaced: true, verbs: ['list'] }] },
        '/apis/e2e.x/v1': { resources: [{ name: 'alphas', kind: 'Alpha', namespaced: true, verbs: ['list'] }] },
        '/apis/e2e.x/v1beta1': {
          resources: [
            { name: 'alphas', kind: 'Alpha', namespaced: true, verbs: ['list'] },
            { name: 'betas', kind: 'Beta', namespaced: true, verbs: ['list'] },
          ],
        },
      });
      const resources = await loadApiResources(reader, 1000);
      expect(resources.map((r) => `${r.group}/${r.version}/${r.resource}`)).toEqual([
        '/v1/configmaps',
        'e2e.x/v1/alphas',
        'e2e.x/v1beta1/betas',
      ]);
    },
  );
});

describe('locked objects in a namespace', () => {
  it('lists every namespaced resource, metadata only, including a kind served only at an older version', async () => {
    const reader = fakeApi({
      ...DISCOVERY,
      [`/api/v1/namespaces/team/configmaps?${SELECTOR}`]: list('app-config'),
      [`/apis/e2e.x/v1beta1/namespaces/team/betas?${SELECTOR}`]: list('old-style'),
      // alphas: 404 (its resource vanished meanwhile) counts as empty.
    });
    expect(await find(reader, namespaceDelete('team'))).toEqual({
      status: 'listed',
      objects: ['ConfigMap app-config', 'Beta old-style'],
      more: false,
    });
    const lists = reader.calls.filter((c) => c.path.includes('labelSelector'));
    expect(lists.map((c) => c.path.split('?')[0])).toEqual([
      '/api/v1/namespaces/team/configmaps',
      '/apis/e2e.x/v1/namespaces/team/alphas',
      '/apis/e2e.x/v1beta1/namespaces/team/betas',
    ]);
    for (const c of lists)
      expect(c.accept).toMatch(/^application\/json;as=PartialObjectMetadataList;g=meta\.k8s\.io;v=v1/);
  });

  it('reads discovery afresh for every guard request', async () => {
    const reader = fakeApi(DISCOVERY);
    const discovery = createDiscovery(reader);
    for (let i = 0; i < 2; i++)
      await findLockedContents({ reader, discovery, request: namespaceDelete('team'), label: LABEL, timeoutMs: 2000 });
    expect(reader.calls.filter((c) => c.path === '/apis').length).toBe(2);
  });

  it('adds a CRD that discovery does not show yet', async () => {
    const reader = fakeApi({
      ...DISCOVERY,
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions': list('sprockets.fresh.x', 'alphas.e2e.x'),
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/sprockets.fresh.x': {
        metadata: { name: 'sprockets.fresh.x' },
        spec: {
          group: 'fresh.x',
          scope: 'Namespaced',
          names: { plural: 'sprockets', kind: 'Sprocket' },
          versions: [
            { name: 'v1alpha1', served: false },
            { name: 'v1', served: true },
          ],
        },
      },
      [`/apis/fresh.x/v1/namespaces/team/sprockets?${SELECTOR}`]: list('fresh'),
    });
    expect(await find(reader, namespaceDelete('team'))).toEqual({
      status: 'listed',
      objects: ['Sprocket fresh'],
      more: false,
    });
    // The CRD discovery already shows is not read again.
    expect(reader.calls.some((c) => c.path.endsWith('/alphas.e2e.x'))).toBe(false);
  });

  it('reports a listing that fails otherwise than 404', async () => {
    const reader = fakeApi({
      ...DISCOVERY,
      [`/api/v1/namespaces/team/configmaps?${SELECTOR}`]: () => {
        throw new BaseError('KUBE_API_ERROR', 'GET configmaps: HTTP 503', { upstream: { status: 503 } });
      },
    });
    expect(await find(reader, namespaceDelete('team'))).toEqual({
      status: 'unavailable',
      reason: 'GET configmaps: HTTP 503',
    });
  });

  it('skips a kind Bulwark may not list (403): locking it is refused, so it holds no locked objects', async () => {
    const reader = fakeApi({
      ...DISCOVERY,
      [`/api/v1/namespaces/team/configmaps?${SELECTOR}`]: () => {
        throw new BaseError('KUBE_API_ERROR', 'GET configmaps: HTTP 403', { upstream: { status: 403 } });
      },
      [`/apis/e2e.x/v1beta1/namespaces/team/betas?${SELECTOR}`]: list('kept'),
    });
    expect(await find(reader, namespaceDelete('team'))).toEqual({
      status: 'listed',
      objects: ['Beta kept'],
      more: false,
    });
  });

  it(
    'asks again while the server answers 429 (a CRD whose storage is initialising), after the wait it ' + 'names',
    async () => {
      let refusals = 2;
      const reader = fakeApi({
        ...DISCOVERY,
        [`/api/v1/namespaces/team/configmaps?${SELECTOR}`]: () => {
          if (refusals-- > 0)
            throw new BaseError('KUBE_API_ERROR', 'GET configmaps: HTTP 429', {
              upstream: { status: 429, retryAfterSeconds: 0.1 },
            });
          return { items: [{ metadata: { name: 'app' } }], metadata: {} };
        },
      });
      expect(await find(reader, namespaceDelete('team'))).toEqual({
        status: 'listed',
        objects: ['ConfigMap app'],
        more: false,
      });
      expect(reader.calls.filter((c) => c.path.includes('/configmaps?'))).toHaveLength(3);
    },
  );
});

describe('locked objects of a CRD', () => {
  const crd = (versions: { name: string; served: boolean; storage?: boolean }[]): KubeObject =>
    ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gadgets.e2e.x' },
      spec: { group: 'e2e.x', scope: 'Namespaced', names: { plural: 'gadgets', kind: 'Gadget' }, versions },
    }) as KubeObject;

  it('lists at every served version, cluster-wide, never at one that is not served', async () => {
    const reader = fakeApi({
      [`/apis/e2e.x/v2/gadgets?${SELECTOR}`]: {
        items: [{ metadata: { name: 'sprocket', namespace: 'shop' } }],
        metadata: {},
      },
      [`/apis/e2e.x/v3/gadgets?${SELECTOR}`]: {
        items: [{ metadata: { name: 'sprocket', namespace: 'shop' } }],
        metadata: { continue: 'x' },
      },
    });
    // v1 is the storage version but no longer served: listing there would 404 and miss everything.
    const request = crdRequest(
      crd([
        { name: 'v1', served: false, storage: true },
        { name: 'v2', served: true },
        { name: 'v3', served: true },
      ]),
    );
    expect(await find(reader, request)).toEqual({ status: 'listed', objects: ['Gadget shop/sprocket'], more: true });
    expect(reader.calls.map((c) => c.path.split('?')[0])).toEqual(['/apis/e2e.x/v2/gadgets', '/apis/e2e.x/v3/gadgets']);
  });

  it('a CRD whose objects Bulwark may not list (403) is not deleted: unavailable, the guard fails closed', async () => {
    const reader = fakeApi({
      [`/apis/e2e.x/v1/gadgets?${SELECTOR}`]: () => {
        throw new BaseError('KUBE_API_ERROR', 'GET gadgets: HTTP 403', { upstream: { status: 403 } });
      },
    });
    expect(await find(reader, crdRequest(crd([{ name: 'v1', served: true }])))).toEqual({
      status: 'unavailable',
      reason: 'GET gadgets: HTTP 403',
    });
  });

  it('a CRD that serves no version cannot be listed: unavailable, so the guard fails closed', async () => {
    expect(await find(fakeApi({}), crdRequest(crd([{ name: 'v1', served: false, storage: true }])))).toEqual({
      status: 'unavailable',
      reason:
        'the CRD serves no version, so its objects cannot be listed; serve one first (an UPDATE of the CRD ' +
        'unlocked by an approved UnlockRequest)',
    });
  });
});
