// `helm uninstall` on the full cluster (issue 12): the cluster is writable afterwards. The
// webhook configurations and the admission policies of the release are gone (nothing is
// sent to a Bulwark that no longer runs), the CRDs are kept (crds.keep, the default) and so
// are the policies in them, as the chart's README says. The release is installed again
// afterwards, with the chart's defaults, for the files that follow.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlOk } from '../../harness/kubectl.ts';
import { helm, kubectl, kubectlJson, newNamespace, RELEASE, RELEASE_NAMESPACE, until } from './context.ts';
import { installRelease } from './release.ts';
import { apply, HELLO_IMAGE, LOCK, readyPods } from './workloads.ts';

const BULWARK_PODS = 'app.kubernetes.io/name=bulwark';
const INSTANCE = `app.kubernetes.io/instance=${RELEASE}`;
const ADMISSION_KINDS = [
  'validatingwebhookconfigurations',
  'mutatingwebhookconfigurations',
  'validatingadmissionpolicies',
  'validatingadmissionpolicybindings',
];

let ns = '';
const policyName = () => `uninstall-${ns}`;

beforeAll(async () => {
  ns = await newNamespace('uninstall');
  await apply(
    {
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'ImmutabilityPolicy',
      metadata: { name: policyName() },
      spec: { match: { namespaces: [ns] }, message: 'kept across uninstall' },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'locked', namespace: ns, labels: LOCK },
      data: { n: '0' },
    },
  );
  // Both replicas read the new policy from their informers: wait until its message comes back.
  await until('the policy in force', async () => {
    const denied = await kubectl(['patch', 'configmap', 'locked', '-n', ns, '-p', '{"data":{"n":"1"}}'], {
      user: 'alice',
    });
    return denied.stderr.includes('kept across uninstall') ? true : undefined;
  });
});

afterAll(async () => {
  // Installed again for the files that follow (unless a failure left it installed).
  const releases = (await helm(['list', '-n', RELEASE_NAMESPACE, '-q'])).stdout;
  if (!releases.split('\n').includes(RELEASE)) await installRelease();
  await readyPods(RELEASE_NAMESPACE, BULWARK_PODS, 2, 240_000);
}, 300_000);

describe('helm uninstall', () => {
  it('removes the webhook configurations and admission policies, keeps the CRDs and policies', async () => {
    const names = async (kind: string) =>
      (await kubectlJson<{ items: { metadata: { name: string } }[] }>(['get', kind, '-l', INSTANCE])).items.map(
        (i) => i.metadata.name,
      );
    for (const kind of ADMISSION_KINDS) expect((await names(kind)).length, kind).toBeGreaterThan(0);

    const started = Date.now();
    await helm(['uninstall', RELEASE, '--namespace', RELEASE_NAMESPACE, '--wait', '--timeout', '3m'], {
      timeoutMs: 200_000,
    });
    process.stderr.write(`[figure] helm uninstall --wait took ${Date.now() - started} ms\n`);

    for (const kind of ADMISSION_KINDS) expect(await names(kind), kind).toEqual([]);
    const crds = await kubectlJson<{ items: { spec: { group: string }; metadata: { name: string } }[] }>([
      'get',
      'customresourcedefinitions',
    ]);
    expect(
      crds.items
        .filter((c) => c.spec.group === 'bulwark.dev')
        .map((c) => c.metadata.name)
        .sort(),
    ).toEqual([
      'imagepolicies.bulwark.dev',
      'immutabilitypolicies.bulwark.dev',
      'localunlockrequests.bulwark.dev',
      'lockattributions.bulwark.dev',
      'seals.bulwark.dev',
      'unlockedchanges.bulwark.dev',
      'unlockrequests.bulwark.dev',
    ]);
    await kubectlOk(kubectl, ['get', 'immutabilitypolicy', policyName()]);
  }, 240_000);

  it('leaves the cluster writable: the once-locked object, a Deployment, a namespace deletion', async () => {
    await kubectlOk(kubectl, ['patch', 'configmap', 'locked', '-n', ns, '-p', '{"data":{"n":"2"}}'], {
      user: 'alice',
    });
    await kubectlOk(kubectl, ['create', 'deployment', 'after', '-n', ns, `--image=${HELLO_IMAGE}`], { user: 'alice' });
    await readyPods(ns, 'app=after', 1).catch(async (err: unknown) => {
      // Say why (scheduling, sandbox, IP allocation...): this has failed without a clue before.
      const pods = await kubectl(['get', 'pods', '-n', ns, '-o', 'wide']);
      const events = await kubectl(['get', 'events', '-n', ns, '--sort-by=.lastTimestamp']);
      const node = await kubectl(['describe', 'node']);
      throw new Error(
        `${String(err)}\n${pods.stdout}\n${events.stdout.split('\n').slice(-15).join('\n')}\n` +
          node.stdout.slice(node.stdout.indexOf('Allocated resources') - 1200),
      );
    });
    const other = await newNamespace('uninstall-gone');
    await kubectlOk(kubectl, ['delete', 'namespace', other, '--timeout=120s'], { user: 'alice', timeoutMs: 130_000 });
  }, 240_000);
});
