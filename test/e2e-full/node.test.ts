// The node works the way a cluster's node does: a plain Deployment of a locally built
// image is scheduled, started by the kubelet through containerd, probed over the pod
// network and reaches Ready; its Service routes through kube-proxy; pods reach the
// apiserver through the `kubernetes` Service with their ServiceAccount token; and the
// controllers act (garbage collection, namespace deletion).

import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { get } from '../../harness/poll.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { readVersions } from '../../harness/node/versions.ts';
import { kubectl, kubectlJson, newNamespace, RELEASE, RELEASE_NAMESPACE, until } from './context.ts';

const { HELLO_IMAGE } = readVersions();

function helloApp(namespace: string, replicas: number): string {
  const labels = { app: 'hello' };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'hello', namespace },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'hello',
                image: HELLO_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                ports: [{ containerPort: 8080 }],
                readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
                securityContext: {
                  runAsNonRoot: true,
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ['ALL'] },
                  readOnlyRootFilesystem: true,
                },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'hello', namespace },
      spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
    },
  ]
    .map((o) => stringify(o))
    .join('---\n');
}

describe('a cluster with a node', () => {
  it('runs a plain Deployment of a locally built image to Ready, and its Service routes to it', async () => {
    const ns = await newNamespace('hello');
    const started = Date.now();
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: helloApp(ns, 2) });
    const rollout = await kubectl(['rollout', 'status', 'deployment/hello', '-n', ns, '--timeout=120s'], {
      timeoutMs: 130_000,
    });
    expect(rollout.code, rollout.stderr).toBe(0);
    process.stderr.write(`[e2e-full] hello Deployment: 2 pods Ready ${Date.now() - started} ms after kubectl apply\n`);
    const deployment = await kubectlJson<{ status: { readyReplicas?: number } }>([
      'get',
      'deployment',
      'hello',
      '-n',
      ns,
    ]);
    expect(deployment.status.readyReplicas).toBe(2);

    // kube-proxy's rules route the ClusterIP on this machine (as they do for the apiserver's webhook calls).
    const clusterIp = await kubectlOk(kubectl, [
      'get',
      'service',
      'hello',
      '-n',
      ns,
      '-o',
      'jsonpath={.spec.clusterIP}',
    ]);
    const answers = await until('the Service answers from both pods', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const res = await get(`http://${clusterIp}/`).catch(() => undefined);
        if (res?.status === 200) seen.add(res.body.trim());
      }
      return seen.size === 2 ? seen : undefined;
    });
    for (const body of answers) expect(body).toMatch(/^hello from hello-[a-z0-9]+-[a-z0-9]+$/);
  });

  it('gives pods the apiserver through the kubernetes Service, with their ServiceAccount token', async () => {
    // Bulwark's own pod, as in-cluster clients see it: KUBERNETES_SERVICE_HOST and the projected token and CA.
    const script = [
      "const fs = require('node:fs'); const https = require('node:https');",
      "const sa = '/var/run/secrets/kubernetes.io/serviceaccount';",
      'const req = https.get({ host: process.env.KUBERNETES_SERVICE_HOST, port: ' +
        "process.env.KUBERNETES_SERVICE_PORT, path: '/version',",
      "  ca: fs.readFileSync(sa + '/ca.crt'), headers: { authorization: 'Bearer ' + fs.readFileSync(sa + " +
        "'/token', 'utf8') } },",
      "  (res) => { let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => " +
        'console.log(process.env.KUBERNETES_SERVICE_HOST, res.statusCode, JSON.parse(b).gitVersion)); });',
      "req.on('error', (e) => { console.error(e.message); process.exit(1); });",
    ].join('\n');
    const r = await kubectl(['exec', '-n', RELEASE_NAMESPACE, `deployment/${RELEASE}`, '--', 'node', '-e', script]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`10.0.0.1 200 ${readVersions().KUBE_VERSION}`);
  });

  it(
    "runs the controllers: the garbage collector removes a deleted Deployment's pods, the namespace controller " +
      'finishes a namespace deletion',
    async () => {
      const ns = await newNamespace('gc');
      await kubectlOk(kubectl, ['apply', '-f', '-'], { input: helloApp(ns, 1) });
      await until('the ReplicaSet and its pod exist', async () => {
        const pods = await kubectlJson<{ items: unknown[] }>(['get', 'pods', '-n', ns]);
        return pods.items.length === 1 ? true : undefined;
      });
      await kubectlOk(kubectl, ['delete', 'deployment', 'hello', '-n', ns, '--wait=false']);
      await until(
        'the garbage collector removed the ReplicaSet and the pod',
        async () => {
          const left = (await kubectlOk(kubectl, ['get', 'replicasets,pods', '-n', ns, '-o', 'name'])).trim();
          return left === '' ? true : undefined;
        },
        90_000,
      );
      await kubectlOk(kubectl, ['delete', 'namespace', ns, '--wait=false']);
      await until(
        'the namespace is gone',
        async () => ((await kubectl(['get', 'namespace', ns])).code !== 0 ? true : undefined),
        90_000,
      );
    },
  );

  it('is one Ready node running the pinned kubelet on containerd 2.x', async () => {
    const nodes = await kubectlJson<{
      items: {
        status: {
          nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string };
          conditions: { type: string; status: string }[];
        };
      }[];
    }>(['get', 'nodes']);
    expect(nodes.items).toHaveLength(1);
    const [node] = nodes.items;
    expect(node?.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node?.status.nodeInfo.kubeletVersion).toBe(readVersions().KUBE_VERSION);
    expect(node?.status.nodeInfo.containerRuntimeVersion).toBe(
      `containerd://${readVersions().CONTAINERD_VERSION?.replace(/^v/, '')}`,
    );
  });
});
