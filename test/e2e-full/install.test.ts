// Bulwark installed as users install it: `helm install` of charts/bulwark with the image
// built from the Dockerfile. Two replicas are Ready behind the Service, the chart's own
// ValidatingWebhookConfiguration (six entries, with their selectors) is the only one in
// force, and a change to a locked ConfigMap is denied through it. The pods run as the
// chart says: UID 65532, read-only root filesystem.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { kubectlOk } from '../../harness/kubectl.ts';
import { dockerEngine } from '../../harness/node/docker.ts';
import { localBaseImage } from '../../harness/node/image.ts';
import { REPO_ROOT } from '../../harness/paths.ts';
import {
  fullCluster,
  helm,
  isImmutabilityDenial,
  kubectl,
  kubectlJson,
  LOCK_LABEL,
  newNamespace,
  RELEASE,
  RELEASE_NAMESPACE,
  until,
} from './context.ts';

interface Webhook {
  name: string;
  clientConfig: { service?: { name: string; namespace: string; port?: number }; url?: string };
  failurePolicy: string;
  objectSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: { matchExpressions?: { key: string; operator: string; values: string[] }[] };
}

const configMap = (namespace: string, color: string, locked: boolean) =>
  stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'app-config', namespace, ...(locked ? { labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } } : {}) },
    data: { color },
  });

describe('Bulwark installed by helm into the cluster', () => {
  it(
    'is a deployed release whose two replicas, running the freshly built image, are Ready behind the ' + 'Service',
    async () => {
      const c = fullCluster();
      const status = JSON.parse((await helm(['status', RELEASE, '-n', RELEASE_NAMESPACE, '-o', 'json'])).stdout) as {
        info: { status: string };
      };
      expect(status.info.status).toBe('deployed');

      // An earlier file's upgrade may leave a pod of the old ReplicaSet terminating (preStop,
      // drain): the release is judged once its rollout is complete, on the pods that stay.
      await kubectlOk(kubectl, [
        'rollout',
        'status',
        `deployment/${RELEASE}`,
        '-n',
        RELEASE_NAMESPACE,
        '--timeout=180s',
      ]);
      type Pods = {
        items: {
          metadata: { deletionTimestamp?: string };
          spec: { containers: { image: string }[] };
          status: { conditions: { type: string; status: string }[] };
        }[];
      };
      const running = async () =>
        (
          await kubectlJson<Pods>(['get', 'pods', '-n', RELEASE_NAMESPACE, '-l', 'app.kubernetes.io/name=bulwark'])
        ).items.filter((p) => p.metadata.deletionTimestamp === undefined);
      const pods = { items: await running() };
      expect(pods.items).toHaveLength(2);
      for (const pod of pods.items) {
        expect(pod.spec.containers[0]?.image).toBe(c.image.reference);
        expect(pod.status.conditions.find((x) => x.type === 'Ready')?.status).toBe('True');
      }
      const slices = await kubectlJson<{ items: { endpoints: { conditions: { ready: boolean } }[] }[] }>([
        'get',
        'endpointslices',
        '-n',
        RELEASE_NAMESPACE,
        '-l',
        `kubernetes.io/service-name=${RELEASE}`,
      ]);
      expect(slices.items.flatMap((s) => s.endpoints).filter((e) => e.conditions.ready)).toHaveLength(2);
    },
  );

  it(
    "has the chart's own webhook configuration in force: six entries calling the Service, with their " +
      'selectors, and no other',
    async () => {
      const all = await kubectlJson<{ items: { metadata: { name: string } }[] }>([
        'get',
        'validatingwebhookconfigurations',
      ]);
      expect(all.items.map((v) => v.metadata.name)).toEqual([RELEASE]);
      const { webhooks } = await kubectlJson<{ webhooks: Webhook[] }>([
        'get',
        'validatingwebhookconfiguration',
        RELEASE,
      ]);
      expect(webhooks.map((w) => w.name).sort()).toEqual([
        'guards.bulwark.dev',
        'images.bulwark.dev',
        'immutability.bulwark.dev',
        'namespaces.bulwark.dev',
        'policies.bulwark.dev',
        'subresources.bulwark.dev',
      ]);
      for (const w of webhooks) {
        expect(w.clientConfig.url).toBeUndefined();
        expect(w.clientConfig.service).toMatchObject({ name: RELEASE, namespace: RELEASE_NAMESPACE });
        expect(w.failurePolicy).toBe('Fail');
        const excluded =
          w.namespaceSelector?.matchExpressions?.find(
            (e) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn',
          )?.values ?? [];
        expect(excluded).toEqual(expect.arrayContaining(['kube-system', RELEASE_NAMESPACE]));
      }
      expect(webhooks.find((w) => w.name === 'immutability.bulwark.dev')?.objectSelector).toBeDefined();
    },
  );

  it(
    "denies `kubectl apply` of a change to a locked ConfigMap through the chart's webhook, and lets unlocked " +
      'ones change',
    async () => {
      const ns = await newNamespace('locked');
      await kubectlOk(kubectl, ['apply', '-f', '-'], { input: configMap(ns, 'blue', true) });
      const change = await kubectl(['apply', '-f', '-'], { input: configMap(ns, 'red', true) });
      expect(change.code).not.toBe(0);
      expect(isImmutabilityDenial(change)).toBe(true);
      expect(change.stderr).toContain('admission webhook "immutability.bulwark.dev" denied the request');
      expect(change.stderr).toContain('data.color');
      const remove = await kubectl(['delete', 'configmap', 'app-config', '-n', ns]);
      expect(isImmutabilityDenial(remove)).toBe(true);
      // Reapplying the same manifest (GitOps) and unlocked objects go through.
      expect((await kubectl(['apply', '-f', '-'], { input: configMap(ns, 'blue', true) })).code).toBe(0);
      const other = await newNamespace('unlocked');
      await kubectlOk(kubectl, ['apply', '-f', '-'], { input: configMap(other, 'blue', false) });
      const free = await kubectl(['apply', '-f', '-'], { input: configMap(other, 'red', false) });
      expect(free.code, free.stderr).toBe(0);
    },
  );

  it('its ServiceAccount may not read pod logs, the kubelet API or Secret lists; a Secret cannot be locked, and a ' +
    'namespace holding Secrets is deleted as usual', async () => {
    const deployment = await kubectlJson<{ spec: { template: { spec: { serviceAccountName: string } } } }>([
      'get',
      'deployment',
      RELEASE,
      '-n',
      RELEASE_NAMESPACE,
    ]);
    const as = `--as=system:serviceaccount:${RELEASE_NAMESPACE}:${deployment.spec.template.spec.serviceAccountName}`;
    const canI = async (...args: string[]) => (await kubectl(['auth', 'can-i', ...args, as])).stdout.trim();
    expect(await canI('get', 'pods', '--subresource=log', '-A')).toBe('no');
    expect(await canI('get', 'nodes', '--subresource=proxy')).toBe('no');
    expect(await canI('create', 'pods', '--subresource=exec', '-A')).toBe('no');
    expect(await canI('list', 'secrets', '-A')).toBe('no');
    expect(await canI('watch', 'secrets', '-A')).toBe('no');
    expect(await canI('list', 'configmaps', '-A')).toBe('yes');

    const ns = await newNamespace('secrets');
    const secret = (labels: Record<string, string>) =>
      stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token', namespace: ns, labels } });
    const locked = await kubectl(['create', '-f', '-'], { input: secret({ [LOCK_LABEL.key]: LOCK_LABEL.value }) });
    expect(locked.stderr).toContain('bulwark may not list secrets, so it could not see this object once locked');
    expect(locked.stderr).toContain('rbac.listSecrets=true');
    await kubectlOk(kubectl, ['create', '-f', '-'], { input: secret({}) });
    // The namespace guard skips the kind it may not list: the namespace goes, Secret and all.
    await kubectlOk(kubectl, ['delete', 'namespace', ns, '--wait=true', '--timeout=120s'], { timeoutMs: 130_000 });
  }, 180_000);

  it('runs as UID 65532 on a read-only root filesystem', async () => {
    const exec = (script: string) =>
      kubectl(['exec', '-n', RELEASE_NAMESPACE, `deployment/${RELEASE}`, '--', 'node', '-e', script]);
    const uid = await exec('console.log(process.getuid(), process.getgid())');
    expect(uid.stdout.trim()).toBe('65532 65532');
    const write = await exec(
      "try { require('node:fs').writeFileSync('/app/probe', 'x'); console.log('written') } catch (e) { " +
        'console.log(e.code) }',
    );
    expect(write.stdout.trim()).toBe('EROFS');
  });
});

// scripts/kind.sh, the path for users with Docker and kind, run here with a stand-in for
// `kind` (no kind node image can be made here): `kind get clusters` names this cluster and
// `kind load docker-image` does what kind does inside its node, `ctr images import`. Every
// other step is the script's own: docker build, helm upgrade --install, the denial.
// Runs last in this file: it rolls Bulwark's pods onto the tag it builds.
describe('scripts/kind.sh on this cluster', () => {
  it('builds, loads, upgrades the release with its image and shows the denial', async () => {
    const c = fullCluster();
    const work = await mkdtemp(join(c.dir, 'kind-script-'));
    const socket = c.containerdSocket;
    await writeFile(
      join(work, 'kind'),
      [
        '#!/usr/bin/env bash',
        'case "$1 $2" in',
        '  "get clusters") echo bulwark ;;',
        `  "load docker-image") docker save "$3" | '${c.ctrPath}' --address '${socket}' --namespace k8s.io ` +
          `images import - ;;`,
        '  *) echo "kind stand-in: unexpected arguments: $*" >&2; exit 2 ;;',
        'esac',
      ].join('\n'),
      { mode: 0o755 },
    );
    const config = parse(await readFile(c.kubeconfig, 'utf8')) as {
      contexts: { name: string; context: Record<string, string> }[];
    };
    const admin = config.contexts.find((x) => x.name === 'admin');
    config.contexts.push({ name: 'kind-bulwark', context: { ...admin?.context } });
    await writeFile(join(work, 'kubeconfig'), stringify(config), { mode: 0o600 });

    const engine = await dockerEngine({ dockerdPath: c.dockerdPath, logDir: work });
    try {
      const base = await localBaseImage(engine, c.nodeBasePath);
      const result = await new Promise<{ code: number; output: string }>((resolve) => {
        execFile(
          'bash',
          [join(REPO_ROOT, 'scripts', 'kind.sh')],
          {
            cwd: REPO_ROOT,
            timeout: 280_000,
            maxBuffer: 16 * 1024 * 1024,
            env: {
              ...process.env,
              PATH: [work, dirname(c.kubectlPath), dirname(c.helmPath), process.env.PATH].join(':'),
              KUBECONFIG: join(work, 'kubeconfig'),
              DOCKER_HOST: engine.host,
              DOCKER_BUILD_ARGS: `--network host --build-arg NODE_IMAGE=${base}`,
              HELM_CONFIG_HOME: join(work, 'helm'),
              HELM_CACHE_HOME: join(work, 'helm'),
              HELM_DATA_HOME: join(work, 'helm'),
            },
          },
          (err, stdout, stderr) =>
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: stdout + stderr }),
        );
      });
      expect(result.code, result.output.slice(-3000)).toBe(0);
      expect(result.output).toContain('admission webhook "immutability.bulwark.dev" denied the request');
      expect(result.output).toContain('denied, as it should be');
    } finally {
      await engine.stop();
    }
    // The rollout replaced both replicas (terminating ones may linger for their drain).
    await until(
      'only the new pods are left',
      async () => {
        const pods = await kubectlJson<{ items: { spec: { containers: { image: string }[] } }[] }>([
          'get',
          'pods',
          '-n',
          RELEASE_NAMESPACE,
          '-l',
          'app.kubernetes.io/name=bulwark',
        ]);
        const images = pods.items.map((p) => p.spec.containers[0]?.image);
        return images.length === 2 && images.every((i) => i === 'bulwark.local/bulwark:dev') ? true : undefined;
      },
      90_000,
    );
  }, 300_000);
});
