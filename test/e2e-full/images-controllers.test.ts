// Images through controllers, with a registry the node really pulls from: pods that a
// ReplicaSet creates are image-checked like any other, and a denial reaches the people
// who look at the ReplicaSet (its FailedCreate events carry Bulwark's reason). A
// signed, verified image runs to Ready.
//
// The registry (our oci-registry) listens on this machine's address: the node's
// containerd pulls from it over plain HTTP (a hosts.toml in its config_path), and
// Bulwark's pods reach it over the pod network to verify signatures.

import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectlOk } from '../../harness/kubectl.ts';
import { trustPlainHttpRegistry } from '../../harness/node/containerd.ts';
import { hostAddress } from '../../harness/node/host.ts';
import {
  cosignSign,
  crane,
  generateKeyPair,
  registryTools,
  startRegistry,
  type KeyPair,
  type RegistryTools,
  type TestRegistry,
} from '../e2e/helpers/registry.ts';
import { fullCluster, kubectl, kubectlJson, newNamespace, until } from './context.ts';
import { readyPods } from './workloads.ts';

let tools: RegistryTools;
let registry: TestRegistry;
let key: KeyPair;
let digest: string;
const signed = () => `${registry.host}/e2e/hello@${digest}`;
/** The same image (same digest) in a repository where nobody signed it. */
const unsigned = () => `${registry.host}/e2e/unsigned-hello@${digest}`;

const imagePolicy = (name: string, namespace: string) =>
  stringify({
    apiVersion: 'bulwark.dev/v1alpha1',
    kind: 'ImagePolicy',
    metadata: { name },
    spec: {
      images: [`${registry.host}/e2e/**`],
      match: { namespaces: [namespace] },
      registry: { insecure: true },
      authorities: [{ name: 'release', key: { publicKey: key.publicKeyPem } }],
    },
  });

const deployment = (namespace: string, image: string, replicas = 1) =>
  stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'app', namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'app' } },
      template: {
        metadata: { labels: { app: 'app' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            { name: 'hello', image, readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 } },
          ],
        },
      },
    },
  });

beforeAll(async () => {
  const work = mkdtempSync(join(fullCluster().dir, 'images-'));
  tools = await registryTools();
  registry = await startRegistry('oci-registry', tools, join(work, 'registry'), { address: hostAddress() });
  await trustPlainHttpRegistry(fullCluster().dir, registry.host);
  const hello = join(fullCluster().nodeImagesDir, 'hello.tar');
  // The registry copy gets an image ID of its own (a label changes its config). With the same
  // ID as the node's preloaded `hello`, the kubelet's pull record for this registry (KEP-2535,
  // beta and on by default since 1.35) would make every later IfNotPresent pod of the preloaded
  // name re-verify by pulling from `bulwark.local`, which does not exist: ImagePullBackOff.
  await crane(tools, ['push', hello, `${registry.host}/e2e/base:1`]);
  await crane(tools, [
    'mutate',
    `${registry.host}/e2e/base:1`,
    '--label',
    'dev.bulwark.e2e=registry-copy',
    '--tag',
    `${registry.host}/e2e/hello:1`,
  ]);
  await crane(tools, ['copy', `${registry.host}/e2e/hello:1`, `${registry.host}/e2e/unsigned-hello:1`]);
  digest = await crane(tools, ['digest', `${registry.host}/e2e/hello:1`]);
  key = await generateKeyPair(tools, join(work, 'key'));
  await cosignSign(tools, key, signed(), 'bundle');
});

afterAll(async () => {
  await registry?.stop();
});

describe('images through controllers', () => {
  it('runs a Deployment of a signed, verified image (pulled from the registry by the node) to Ready', async () => {
    const ns = await newNamespace('images-signed');
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: imagePolicy(`signed-${ns}`, ns) });
    const denied = await until('the policy is in force (an unsigned image is denied)', async () => {
      const r = await kubectl(['apply', '-f', '-'], { input: deployment(ns, unsigned()), user: 'alice' });
      return r.code !== 0 ? r : undefined;
    });
    expect(denied.stderr).toContain('admission webhook "images.bulwark.dev" denied the request');
    expect(denied.stderr).toMatch(/has no cosign signature/);

    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: deployment(ns, signed(), 2), user: 'alice' });
    await readyPods(ns, 'app=app', 2, 150_000);
    const pods = await kubectlJson<{ items: { status: { containerStatuses: { imageID: string }[] } }[] }>([
      'get',
      'pods',
      '-n',
      ns,
    ]);
    for (const pod of pods.items) expect(pod.status.containerStatuses[0]?.imageID).toContain(digest);
  });

  it('checks the pods a ReplicaSet creates, and its events say why they are not created', async () => {
    const ns = await newNamespace('images-rs');
    // Admitted before any ImagePolicy applied here: the Deployment and its first pod run.
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: deployment(ns, unsigned()), user: 'alice' });
    await readyPods(ns, 'app=app', 1, 150_000);
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: imagePolicy(`rs-${ns}`, ns) });
    await until('the policy is in force', async () =>
      (await kubectl(['run', 'probe', '-n', ns, `--image=${unsigned()}`, '--dry-run=server'])).code !== 0
        ? true
        : undefined,
    );

    // Scaling changes no image: the Deployment and ReplicaSet updates pass; the new pod does not.
    await kubectlOk(kubectl, ['scale', 'deployment/app', '-n', ns, '--replicas=2'], { user: 'alice' });
    const event = await until(
      'a FailedCreate event on the ReplicaSet',
      async () => {
        const events = await kubectlJson<{
          items: { reason: string; message: string; involvedObject: { kind: string } }[];
        }>(['get', 'events', '-n', ns, '--field-selector', 'reason=FailedCreate']);
        return events.items.find((e) => e.involvedObject.kind === 'ReplicaSet');
      },
      60_000,
    );
    expect(event.message).toContain('admission webhook "images.bulwark.dev" denied the request');
    expect(event.message).toContain(`${registry.host}/e2e/unsigned-hello@${digest}`);
    expect(event.message).toMatch(/has no cosign signature/);
    expect((await kubectlJson<{ items: unknown[] }>(['get', 'pods', '-n', ns])).items).toHaveLength(1);
  });
});
