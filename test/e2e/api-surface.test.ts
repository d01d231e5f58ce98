// The whole API surface, from the real apiserver's discovery: every resource and
// subresource it serves is classified by what it can change on a locked object
// (helpers/api-surface.ts), and a new one fails this file until it is. Then each class is
// tried against a locked object by alice, whom RBAC lets do it; the classes tested
// elsewhere are named in the classification (status, scale, binding, eviction,
// ephemeralcontainers).

import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { kubectl, newNamespace, type KubectlResult } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { REPO_ROOT } from '../../harness/paths.ts';
import {
  INDIRECT_RESOURCES,
  SUBRESOURCES,
  unclassified,
  VIRTUAL_RESOURCES,
  type Served,
} from './helpers/api-surface.ts';
import {
  DENIED,
  expectChangeDenied,
  IMAGE,
  LOCK_LABELS,
  stamp,
  target,
  yaml,
  type Ref,
} from './helpers/immutability.ts';
import { joinedRegExp } from '../helpers/regexp.ts';

interface ResourceList {
  groupVersion: string;
  resources: { name: string; verbs: string[] }[];
}

/** Every resource and subresource served, at every version of every group (not only the preferred ones). */
async function served(): Promise<Served[]> {
  const groups = JSON.parse(await kubectlOk(kubectl, ['get', '--raw', '/apis'])) as {
    groups: { versions: { groupVersion: string }[] }[];
  };
  const paths = ['/api/v1', ...groups.groups.flatMap((g) => g.versions.map((v) => `/apis/${v.groupVersion}`))];
  const lists = await Promise.all(
    paths.map(async (p) => JSON.parse(await kubectlOk(kubectl, ['get', '--raw', p])) as ResourceList),
  );
  return lists.flatMap((l) => {
    const [group, version] = l.groupVersion.includes('/')
      ? (l.groupVersion.split('/') as [string, string])
      : ['', l.groupVersion];
    return l.resources.map((r) => ({ group, version, name: r.name, verbs: r.verbs }));
  });
}

describe('the API surface, classified', () => {
  let surface: Served[] = [];
  beforeAll(async () => {
    surface = await served();
  });

  it('every resource and subresource the apiserver serves is classified (a new one fails here)', () => {
    expect(surface.length).toBeGreaterThan(100);
    expect(unclassified(surface)).toEqual([]);
  });

  it('the classification names nothing the apiserver does not serve (it tracks 1.36, not memory)', () => {
    const subresources = new Set(surface.filter((s) => s.name.includes('/')).map((s) => s.name.split('/')[1]));
    expect(Object.keys(SUBRESOURCES).filter((s) => !subresources.has(s))).toEqual([]);
    const resources = new Set(surface.map((s) => `${s.group}/${s.name}`));
    expect(Object.keys(INDIRECT_RESOURCES).filter((r) => !resources.has(r))).toEqual([]);
    const virtual = new Set(surface.map((s) => s.name));
    expect(Object.keys(VIRTUAL_RESOURCES).filter((r) => !virtual.has(r))).toEqual([]);
  });

  it('each class is tested where the classification says, and the README`s tables list every entry', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    for (const [name, s] of Object.entries(SUBRESOURCES)) {
      const file = join(REPO_ROOT, 'test', 'e2e', s.tested);
      expect(existsSync(file), s.tested).toBe(true);
      expect(readFileSync(file, 'utf8'), `${s.tested} tries ${name}`).toContain(name);
      expect(readme, `README row for ${name}`).toMatch(new RegExp(`\\| [^|\\n]*\`${name}\``));
    }
    for (const name of [
      ...Object.keys(VIRTUAL_RESOURCES),
      ...Object.keys(INDIRECT_RESOURCES).map((r) => r.split('/')[1]),
    ]) {
      expect(readme, `README mentions ${name}`).toContain(`\`${name}\``);
    }
  });
});

describe('each class against a locked object, by alice', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await newNamespace('surface');
  });

  const guaranteedPod = (name: string, locked: boolean) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, ...(locked ? { labels: LOCK_LABELS } : {}) },
    spec: {
      containers: [
        {
          name: 'c',
          image: IMAGE,
          resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
        },
      ],
    },
  });
  const resize = (name: string) =>
    kubectl(
      [
        'patch',
        'pod',
        name,
        '-n',
        ns,
        '--subresource=resize',
        '-p',
        JSON.stringify({
          spec: { containers: [{ name: 'c', resources: { requests: { cpu: '200m' }, limits: { cpu: '200m' } } }] },
        }),
      ],
      { user: 'alice' },
    );

  it(
    'parent-diff: resize of a locked pod is denied naming the resources; of an unlocked one it goes ' + 'through',
    async () => {
      await kubectlOk(kubectl, ['apply', '-f', '-'], {
        input: yaml(guaranteedPod('locked', true), guaranteedPod('free', false)),
      });
      const ref: Ref = { resource: 'pod', name: 'locked', namespace: ns };
      const before = await stamp(ref, '{.spec.containers[0].resources}');
      expectChangeDenied(
        await resize('locked'),
        target('Pod', ref),
        'spec.containers[0].resources.limits.cpu (changed), spec.containers[0].resources.requests.cpu (changed)',
        'resize',
      );
      expect((await stamp(ref, '{.spec.containers[0].resources}')).content).toBe(before.content);
      const free = await resize('free');
      expect(free.code, free.stderr).toBe(0);
    },
  );

  it('parent-diff: finalize and status of a locked Namespace keep metadata changes, which are denied', async () => {
    const name = `${ns}-locked`;
    await kubectlOk(kubectl, ['apply', '-f', '-'], {
      input: yaml({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: LOCK_LABELS } }),
    });
    const object = JSON.parse(await kubectlOk(kubectl, ['get', 'namespace', name, '-o', 'json']));
    const finalize = await kubectl(['replace', '--raw', `/api/v1/namespaces/${name}/finalize`, '-f', '-'], {
      user: 'alice',
      input: JSON.stringify({ ...object, spec: { finalizers: [] } }),
    });
    expectChangeDenied(finalize, `Namespace ${name}`, 'spec.finalizers (removed)', 'finalize');
    const status = await kubectl(['replace', '--raw', `/api/v1/namespaces/${name}/status`, '-f', '-'], {
      user: 'alice',
      input: JSON.stringify({
        ...object,
        metadata: { ...object.metadata, labels: { ...object.metadata.labels, team: 'alice' } },
      }),
    });
    expectChangeDenied(status, `Namespace ${name}`, 'metadata.labels.team (added)', 'status');
    expect(
      await kubectlOk(kubectl, ['get', 'namespace', name, '-o', 'jsonpath={.spec.finalizers}{.metadata.labels.team}']),
    ).toBe('["kubernetes"]');
  });

  it(
    'parent-diff: approval of a locked CSR (alice may approve its signer) sets the condition; an approval that ' +
      'also writes metadata is denied',
    async () => {
      const name = `${ns}-csr`;
      const signer = `e2e.bulwark.dev/${ns}`;
      await kubectlOk(kubectl, ['apply', '-f', '-'], {
        input: yaml(
          {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRole',
            metadata: { name },
            rules: [
              {
                apiGroups: ['certificates.k8s.io'],
                resources: ['signers'],
                resourceNames: [signer],
                verbs: ['approve'],
              },
            ],
          },
          {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRoleBinding',
            metadata: { name },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
            subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
          },
          {
            apiVersion: 'certificates.k8s.io/v1',
            kind: 'CertificateSigningRequest',
            metadata: { name, labels: LOCK_LABELS },
            spec: { request: await csrRequest(), signerName: signer, usages: ['client auth'] },
          },
        ),
      });
      const object = JSON.parse(await kubectlOk(kubectl, ['get', 'csr', name, '-o', 'json']));
      const approve = (extra: object = {}) =>
        kubectl(
          ['replace', '--raw', `/apis/certificates.k8s.io/v1/certificatesigningrequests/${name}/approval`, '-f', '-'],
          {
            user: 'alice',
            input: JSON.stringify({
              ...object,
              ...extra,
              status: {
                conditions: [{ type: 'Approved', status: 'True', reason: 'E2E', message: 'approved by alice' }],
              },
            }),
          },
        );
      expectChangeDenied(
        await approve({ metadata: { ...object.metadata, annotations: { sneaky: 'yes' } } }),
        `CertificateSigningRequest ${name}`,
        'metadata.annotations.sneaky (added)',
        'approval',
      );
      const approved = await approve();
      expect(approved.code, approved.stderr).toBe(0);
      expect(
        await kubectlOk(kubectl, [
          'get',
          'csr',
          name,
          '-o',
          'jsonpath={.status.conditions[0].type} {.spec.usages}{.metadata.annotations.sneaky}',
        ]),
      ).toBe('Approved ["client auth"]');
    },
  );

  it('no-write: a token for a locked ServiceAccount is issued and the ServiceAccount is not written', async () => {
    await kubectlOk(kubectl, ['apply', '-f', '-'], {
      input: yaml({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'locked', namespace: ns, labels: LOCK_LABELS },
      }),
    });
    const ref: Ref = { resource: 'serviceaccount', name: 'locked', namespace: ns };
    const before = await stamp(ref, '{.metadata.labels}');
    const token = await kubectl(['create', 'token', 'locked', '-n', ns], { user: 'alice' });
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout.split('.')).toHaveLength(3);
    expect(await stamp(ref, '{.metadata.labels}')).toEqual(before);
  });

  it(
    'no-write: exec, attach, port-forward, proxy and log reach past admission of the object (no running ' +
      'container here: the apiserver says so) and leave it untouched',
    async () => {
      await kubectlOk(kubectl, ['apply', '-f', '-'], {
        input: yaml(guaranteedPod('streams', true), {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'locked', namespace: ns, labels: LOCK_LABELS },
          spec: { ports: [{ port: 80 }] },
        }),
      });
      const pod: Ref = { resource: 'pod', name: 'streams', namespace: ns };
      const before = await stamp(pod, '{.spec}');
      const tries: [string, Promise<KubectlResult>][] = [
        ['exec', kubectl(['exec', 'streams', '-n', ns, '--', 'true'], { user: 'alice' })],
        ['attach', kubectl(['attach', 'streams', '-n', ns], { user: 'alice', timeoutMs: 20_000 })],
        [
          'portforward',
          kubectl(['port-forward', 'pod/streams', '-n', ns, ':80'], { user: 'alice', timeoutMs: 20_000 }),
        ],
        [
          'pods/proxy',
          kubectl(['create', '--raw', `/api/v1/namespaces/${ns}/pods/streams/proxy/x`, '-f', '-'], {
            user: 'alice',
            input: '{}',
          }),
        ],
        [
          'services/proxy',
          kubectl(['create', '--raw', `/api/v1/namespaces/${ns}/services/locked/proxy/x`, '-f', '-'], {
            user: 'alice',
            input: '{}',
          }),
        ],
      ];
      // A read, never admitted (of a pod that never ran: nothing to read).
      const log = await kubectl(['logs', 'streams', '-n', ns], { user: 'alice' });
      expect(log.stderr).not.toMatch(DENIED);
      for (const [what, attempt] of tries) {
        const r = await attempt;
        expect(r.code, what).not.toBe(0);
        expect(r.stderr, what).not.toMatch(DENIED);
        // A Service proxy resolves the Service's Endpoints, which no controller makes here: "not found".
        expect(r.stderr, what).toMatch(
          joinedRegExp(
            /does not have a host assigned|not running|address not allowed|services "locked" /,
            /not found|is waiting to start|pending/i,
          ),
        );
      }
      expect(await stamp(pod, '{.spec}')).toEqual(before);
    },
  );

  it(
    '`--subresource=status` of a kind without a status subresource (ConfigMap) is not served: nothing to ' + 'judge',
    async () => {
      await kubectlOk(kubectl, ['apply', '-f', '-'], {
        input: yaml({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'locked', namespace: ns, labels: LOCK_LABELS },
          data: { color: 'blue' },
        }),
      });
      const r = await kubectl(
        [
          'patch',
          'configmap',
          'locked',
          '-n',
          ns,
          '--subresource=status',
          '--type=merge',
          '-p',
          '{"data":{"color":"red"}}',
        ],
        { user: 'alice' },
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('NotFound');
      expect(await kubectlOk(kubectl, ['get', 'configmap', 'locked', '-n', ns, '-o', 'jsonpath={.data.color}'])).toBe(
        'blue',
      );
    },
  );
});

/** A PKCS#10 request (P-256), base64 as a CSR's spec.request takes it: the apiserver checks that it parses. */
async function csrRequest(): Promise<string> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(algorithm, false, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=e2e',
    keys,
    signingAlgorithm: algorithm,
  });
  return Buffer.from(csr.toString('pem')).toString('base64');
}
