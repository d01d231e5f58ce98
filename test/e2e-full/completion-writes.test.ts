// Objects locked at creation that a controller still has to finish, with the real
// controllers: a locked Service gets and keeps its endpoints (its labels go onto the
// EndpointSlices and Endpoints the endpoint controllers write), a locked claim is bound
// by the volume binder, and a LoadBalancer Service takes the service controller's cleanup
// finalizer. Each controller may make its own write and nothing else; people still may not.
//
// There is no cloud provider here, so no service controller runs (kube-controller-manager
// skips service-lb-controller): its write is made through the apiserver under its own
// identity (impersonation), exactly as the cloud-controller-manager sends it
// (k8s.io/cloud-provider: a strategic merge patch of services/status).

import { describe, expect, it } from 'vitest';
import { get } from '../../harness/poll.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { isImmutabilityDenial, kubectl, kubectlJson, newNamespace, until } from './context.ts';
import { apply, deployment, LOCK, readyPods } from './workloads.ts';

const SERVICE_CONTROLLER = 'system:serviceaccount:kube-system:service-controller';

describe('a locked Service', () => {
  it(
    'keeps routing to its pods as they come and go: the endpoint ' +
      'controllers update its locked EndpointSlices and Endpoints',
    async () => {
      const ns = await newNamespace('locked-svc');
      await apply(
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web', namespace: ns, labels: LOCK },
          spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
        },
        deployment(ns, 'web', 1),
      );
      await readyPods(ns, 'app=web', 1);
      await kubectlOk(kubectl, ['scale', 'deployment/web', '-n', ns, '--replicas=2']);
      const pods = await readyPods(ns, 'app=web', 2);
      const slices = await until('the EndpointSlice lists both pods', async () => {
        const list = await kubectlJson<{
          items: {
            metadata: { name: string; labels: Record<string, string> };
            endpoints?: { targetRef?: { name: string } }[];
          }[];
        }>(['get', 'endpointslices', '-n', ns, '-l', 'kubernetes.io/service-name=web']);
        const names = list.items
          .flatMap((s) => s.endpoints ?? [])
          .map((e) => e.targetRef?.name)
          .sort();
        return JSON.stringify(names) === JSON.stringify([...pods].sort()) ? list.items : undefined;
      });
      expect(slices[0]?.metadata.labels).toMatchObject(LOCK);
      const endpoints = await kubectlJson<{
        metadata: { labels: Record<string, string> };
        subsets?: { addresses?: unknown[] }[];
      }>(['get', 'endpoints', 'web', '-n', ns]);
      expect(endpoints.metadata.labels).toMatchObject(LOCK);
      expect(endpoints.subsets?.[0]?.addresses).toHaveLength(2);
      const clusterIp = await kubectlOk(kubectl, [
        'get',
        'service',
        'web',
        '-n',
        ns,
        '-o',
        'jsonpath={.spec.clusterIP}',
      ]);
      expect((await get(`http://${clusterIp}/`)).body).toMatch(/^hello from web-/);

      // The slices stay locked against people: an endpoint added by hand would steal traffic.
      const forged = await kubectl(
        [
          'patch',
          'endpointslice',
          slices[0]!.metadata.name,
          '-n',
          ns,
          '--type=json',
          '-p',
          JSON.stringify([{ op: 'add', path: '/endpoints/-', value: { addresses: ['10.244.0.250'] } }]),
        ],
        { user: 'alice' },
      );
      expect(isImmutabilityDenial(forged), forged.stderr).toBe(true);
    },
  );

  it(
    'of type LoadBalancer: gets its node port and endpoints here; the service ' +
      'controller may add and remove its cleanup finalizer, and nothing else',
    async () => {
      const ns = await newNamespace('locked-lb');
      await apply({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'lb', namespace: ns, labels: LOCK },
        spec: { type: 'LoadBalancer', selector: { app: 'x' }, ports: [{ port: 80 }] },
      });
      const svc = await kubectlJson<{ spec: { ports: { nodePort?: number }[] }; metadata: { finalizers?: string[] } }>([
        'get',
        'service',
        'lb',
        '-n',
        ns,
      ]);
      expect(svc.spec.ports[0]?.nodePort).toBeGreaterThan(0);
      expect(svc.metadata.finalizers ?? []).toEqual([]); // no cloud provider: nobody took charge of it
      const patchStatus = (finalizers: string[], as: string) =>
        kubectl([
          'patch',
          'service',
          'lb',
          '-n',
          ns,
          '--subresource=status',
          '--type=strategic',
          '-p',
          JSON.stringify({ metadata: { finalizers } }),
          `--as=${as}`,
          '--as-group=system:serviceaccounts',
          '--as-group=system:authenticated',
        ]);
      // The service controller's bootstrap role may patch services/status but not get it, and kubectl patch gets first.
      await kubectlOk(kubectl, [
        'create',
        'clusterrole',
        `svc-get-${ns}`,
        '--verb=get',
        '--resource=services,services/status',
      ]);
      await kubectlOk(kubectl, [
        'create',
        'clusterrolebinding',
        `svc-get-${ns}`,
        `--clusterrole=svc-get-${ns}`,
        `--user=${SERVICE_CONTROLLER}`,
      ]);
      await until('the service controller may get services', async () =>
        (await kubectl(['auth', 'can-i', 'get', 'services', `--as=${SERVICE_CONTROLLER}`])).code === 0
          ? true
          : undefined,
      );

      const added = await patchStatus(['service.kubernetes.io/load-balancer-cleanup'], SERVICE_CONTROLLER);
      expect(added.code, added.stderr).toBe(0);
      const other = await patchStatus(['example.com/hold'], SERVICE_CONTROLLER);
      expect(isImmutabilityDenial(other), other.stderr).toBe(true);
      const byAdmin = await kubectl([
        'patch',
        'service',
        'lb',
        '-n',
        ns,
        '--type=json',
        '-p',
        JSON.stringify([{ op: 'remove', path: '/metadata/finalizers' }]),
      ]);
      expect(isImmutabilityDenial(byAdmin), byAdmin.stderr).toBe(true);
      const removed = await kubectl([
        'patch',
        'service',
        'lb',
        '-n',
        ns,
        '--subresource=status',
        '--type=json',
        '-p',
        JSON.stringify([{ op: 'remove', path: '/metadata/finalizers' }]),
        `--as=${SERVICE_CONTROLLER}`,
        '--as-group=system:serviceaccounts',
        '--as-group=system:authenticated',
      ]);
      expect(removed.code, removed.stderr).toBe(0);
    },
  );
});

describe('a locked PersistentVolumeClaim', () => {
  const volume = (name: string, locked: boolean) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, ...(locked ? { labels: LOCK } : {}) },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      storageClassName: name,
      persistentVolumeReclaimPolicy: 'Retain',
      hostPath: { path: `/tmp/${name}` },
    },
  });
  const claim = (namespace: string, storageClassName: string) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data', namespace, labels: LOCK },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName, resources: { requests: { storage: '1Gi' } } },
  });

  it(
    'is bound by the volume binder, to an unlocked or a locked ' +
      'volume; afterwards its binding cannot be changed by hand',
    async () => {
      const ns = await newNamespace('locked-pvc');
      for (const [suffix, lockedVolume] of [
        ['open', false],
        ['locked', true],
      ] as const) {
        const pv = `${ns}-${suffix}`;
        const pvcNs = suffix === 'open' ? ns : await newNamespace('locked-pvc');
        await apply(volume(pv, lockedVolume), claim(pvcNs, pv));
        const bound = await until(
          `claim ${pvcNs}/data Bound to ${pv}`,
          async () => {
            const pvc = await kubectlJson<{
              spec: { volumeName?: string };
              status: { phase?: string };
              metadata: { annotations?: Record<string, string> };
            }>(['get', 'pvc', 'data', '-n', pvcNs]);
            return pvc.status.phase === 'Bound' ? pvc : undefined;
          },
          90_000,
        );
        expect(bound.spec.volumeName).toBe(pv);
        expect(bound.metadata.annotations).toMatchObject({
          'pv.kubernetes.io/bind-completed': 'yes',
          'pv.kubernetes.io/bound-by-controller': 'yes',
        });
        const phase = await kubectlOk(kubectl, [
          'get',
          'pv',
          pv,
          '-o',
          'jsonpath={.status.phase} {.spec.claimRef.name}',
        ]);
        expect(phase).toBe('Bound data');
        const rebind = await kubectl(
          ['annotate', 'pvc', 'data', '-n', pvcNs, '--overwrite', 'pv.kubernetes.io/bound-by-controller=no'],
          { user: 'alice' },
        );
        expect(isImmutabilityDenial(rebind), rebind.stderr).toBe(true);
      }
    },
  );
});
