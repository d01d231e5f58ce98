// What scripts/capture-controller-fixtures.ts has the real controllers do, one fixture each:
// the action that makes a controller write to a locked object, and how to recognise the
// review it sends among those recorded.

import { stringify } from 'yaml';
import { kubectlOk, type Kubectl } from '../harness/kubectl.ts';
import type { AttachedCluster } from '../harness/node/reuse.ts';
import { readVersions } from '../harness/node/versions.ts';

interface Review {
  operation: string;
  resource: { resource: string };
  subResource?: string;
  name?: string;
  userInfo: { username?: string };
  oldObject?: { metadata?: { deletionTimestamp?: string } };
}

export interface Scenario {
  name: string;
  act(kubectl: Kubectl): Promise<void>;
  match(review: Review): boolean;
}

const LOCK = { 'bulwark.dev/immutable': 'true' };
const sa = (name: string) => `system:serviceaccount:kube-system:${name}`;
const by = (user: string, operation: string, resource: string, subResource?: string) => (r: Review) =>
  r.userInfo.username === user &&
  r.operation === operation &&
  r.resource.resource === resource &&
  r.subResource === subResource;

export function controllerScenarios(ns: string, cluster: AttachedCluster): Scenario[] {
  const apply = (k: Kubectl, ...objects: unknown[]) =>
    kubectlOk(k, ['apply', '-n', ns, '-f', '-'], { input: objects.map((o) => stringify(o)).join('---\n') }).then(
      () => {},
    );
  const hello = { name: 'hello', image: readVersions().HELLO_IMAGE, imagePullPolicy: 'IfNotPresent' };
  const lockedDeployment = (name: string, replicas: number) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, ...LOCK } },
        spec: { terminationGracePeriodSeconds: 1, containers: [hello] },
      },
    },
  });
  const impersonate = [
    `--as=${sa('service-controller')}`,
    '--as-group=system:serviceaccounts',
    '--as-group=system:authenticated',
  ];
  const noop = async () => {};
  return [
    {
      name: 'controller-replicaset-scale-by-deployment-controller',
      act: async (k) => {
        await apply(k, lockedDeployment('web', 2));
        await kubectlOk(k, ['rollout', 'status', 'deployment/web', '-n', ns, '--timeout=90s'], { timeoutMs: 100_000 });
        await kubectlOk(k, ['scale', 'deployment/web', '-n', ns, '--replicas=1']);
      },
      match: by(sa('deployment-controller'), 'UPDATE', 'replicasets'),
    },
    {
      name: 'controller-pod-delete-by-replicaset-controller',
      act: noop,
      match: by(sa('replicaset-controller'), 'DELETE', 'pods'),
    },
    {
      name: 'controller-pod-delete-terminating-by-kubelet',
      act: noop,
      match: (r) =>
        by('system:node:bulwark-node', 'DELETE', 'pods')(r) && r.oldObject?.metadata?.deletionTimestamp !== undefined,
    },
    {
      name: 'controller-pod-eviction-replica',
      act: async (k) => {
        const pod = (
          await kubectlOk(k, ['get', 'pods', '-n', ns, '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}'])
        ).trim();
        await kubectlOk(k, ['create', '--raw', `/api/v1/namespaces/${ns}/pods/${pod}/eviction`, '-f', '-'], {
          input: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: ns } }),
        });
      },
      match: by('admin', 'CREATE', 'pods', 'eviction'),
    },
    {
      name: 'controller-pod-finalizer-removed-by-job-controller',
      act: (k) =>
        apply(k, {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { name: 'task' },
          spec: {
            template: {
              metadata: { labels: LOCK },
              spec: {
                restartPolicy: 'Never',
                containers: [
                  {
                    name: 'task',
                    image: cluster.image,
                    imagePullPolicy: 'IfNotPresent',
                    command: ['node', '-e', 'process.exit(0)'],
                  },
                ],
              },
            },
          },
        }),
      match: by(sa('job-controller'), 'UPDATE', 'pods'),
    },
    {
      name: 'controller-endpointslice-update-by-endpointslice-controller',
      act: async (k) => {
        await apply(k, {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web', labels: LOCK },
          spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
        });
        await new Promise((r) => setTimeout(r, 2000));
        await kubectlOk(k, ['scale', 'deployment/web', '-n', ns, '--replicas=2']);
      },
      match: by(sa('endpointslice-controller'), 'UPDATE', 'endpointslices'),
    },
    {
      name: 'controller-endpoints-update-by-endpoint-controller',
      act: noop,
      match: by(sa('endpoint-controller'), 'UPDATE', 'endpoints'),
    },
    {
      name: 'controller-pv-bind-by-persistent-volume-binder',
      act: (k) =>
        apply(
          k,
          {
            apiVersion: 'v1',
            kind: 'PersistentVolume',
            metadata: { name: `${ns}-pv`, labels: LOCK },
            spec: {
              capacity: { storage: '1Gi' },
              accessModes: ['ReadWriteOnce'],
              storageClassName: ns,
              persistentVolumeReclaimPolicy: 'Retain',
              hostPath: { path: `/tmp/${ns}-pv` },
            },
          },
          {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: { name: 'data', labels: LOCK },
            spec: { accessModes: ['ReadWriteOnce'], storageClassName: ns, resources: { requests: { storage: '1Gi' } } },
          },
        ),
      match: by(sa('persistent-volume-binder'), 'UPDATE', 'persistentvolumes'),
    },
    {
      name: 'controller-pvc-bind-by-persistent-volume-binder',
      act: noop,
      match: by(sa('persistent-volume-binder'), 'UPDATE', 'persistentvolumeclaims'),
    },
    {
      name: 'controller-service-status-finalizer-by-service-controller',
      act: async (k) => {
        await apply(k, {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'lb', labels: LOCK },
          spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80 }] },
        });
        await kubectlOk(k, [
          'create',
          'clusterrole',
          'capture-svc-get',
          '--verb=get',
          '--resource=services,services/status',
        ]);
        await kubectlOk(k, [
          'create',
          'clusterrolebinding',
          'capture-svc-get',
          '--clusterrole=capture-svc-get',
          `--user=${sa('service-controller')}`,
        ]);
        await new Promise((r) => setTimeout(r, 2000));
        await kubectlOk(k, [
          'patch',
          'service',
          'lb',
          '-n',
          ns,
          '--subresource=status',
          '--type=strategic',
          '-p',
          JSON.stringify({ metadata: { finalizers: ['service.kubernetes.io/load-balancer-cleanup'] } }),
          ...impersonate,
        ]);
      },
      match: by(sa('service-controller'), 'UPDATE', 'services', 'status'),
    },
    {
      name: 'controller-replicaset-delete-by-garbage-collector',
      act: (k) => kubectlOk(k, ['delete', 'deployment', 'web', '-n', ns, '--wait=false']).then(() => {}),
      match: by(sa('generic-garbage-collector'), 'DELETE', 'replicasets'),
    },
    {
      name: 'controller-configmap-delete-by-garbage-collector',
      act: async (k) => {
        await apply(k, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner' }, data: {} });
        const uid = await kubectlOk(k, ['get', 'cm', 'owner', '-n', ns, '-o', 'jsonpath={.metadata.uid}']);
        await apply(k, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: 'dependent',
            labels: LOCK,
            ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid }],
          },
          data: { kept: 'by the lock' },
        });
        await kubectlOk(k, ['delete', 'cm', 'owner', '-n', ns]);
      },
      match: by(sa('generic-garbage-collector'), 'DELETE', 'configmaps'),
    },
  ];
}
