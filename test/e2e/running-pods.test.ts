// Running Pods whose images no longer pass the ImagePolicies in force (issue 14), on the real
// apiserver with a real registry, real cosign keys and signatures. A Pod admitted with an image
// signed by key A stays (Pending: there is no kubelet here, and a Pod not terminated is judged);
// once the policy trusts only key B (a loosening: changed with an approved UnlockRequest), the
// audit (every 3 s in the harness) lists it `fail` in its namespace's PolicyReport with the
// reason, records one Warning Event on it, counts it in bulwark_running_pods_failing_images and
// `kubectl bulwark status` shows it; trusted again, it leaves the report. A registry that cannot
// be reached makes it `error`, not `pass`, until the registry answers again. A Pod in kube-system
// (never sent to Bulwark) is not judged.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../../harness/paths.ts';
import { kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { eventsAbout, reportResults, webhookMetrics, type ReportResult } from './helpers/audit.ts';
import { pluginOk, until } from './helpers/plugin.ts';
import {
  cosignSign,
  generateKeyPair,
  pushRandomImage,
  registryTools,
  startFront,
  startRegistry,
  type KeyPair,
  type RegistryTools,
  type TestFront,
  type TestRegistry,
} from './helpers/registry.ts';
import { retryUntil } from './helpers/retry.ts';
import { approvedUnlock } from './helpers/unlock.ts';

const WITHIN_MS = 30_000;
const work = mkdtempSync(join(tmpdir(), 'bulwark-e2e-running-'));
let tools: RegistryTools;
let registry: TestRegistry;
/** The registry as Bulwark reaches it: `down` makes it answer 503 to everything. */
let front: TestFront;
let down = false;
let keyA: KeyPair;
let keyB: KeyPair;
let signedByA: string;
let ns: string;
let policyName: string;

const keySecret = (name: string, pem: string) =>
  stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
    type: 'Opaque',
    stringData: { 'cosign.pub': pem },
  });

/**
 * For this registry's images, in the test's namespace and kube-system (which Bulwark is never sent);
 * `touch` changes it (a new resourceVersion: a new cache key).
 */
const policyManifest = (secret: string, touch = '') =>
  stringify({
    apiVersion: 'bulwark.dev/v1alpha1',
    kind: 'ImagePolicy',
    metadata: { name: policyName, annotations: { touched: touch } },
    spec: {
      images: [`${front.host}/running/**`],
      match: { namespaces: [ns, 'kube-system'] },
      registry: { insecure: true },
      unmatchedImages: 'Allow',
      authorities: [{ name: 'release', key: { secretRef: { namespace: ns, name: secret } } }],
    },
  });

/**
 * Trusting another key loosens the policy (governance): a policy admin changes it with an
 * UnlockRequest approved by two others, as an operator rotating the release key would.
 */
async function trustOnly(secret: string): Promise<void> {
  const target = { apiVersion: 'bulwark.dev/v1alpha1', kind: 'ImagePolicy', name: policyName };
  await approvedUnlock(target, ['UPDATE'], {
    requester: 'erin',
    approvers: ['frank', 'admin'],
    reason: `trust ${secret} only`,
  });
  const r = await retryUntil(
    () => kubectl(['apply', '-f', '-'], { user: 'erin', input: policyManifest(secret) }),
    (result) => result.code === 0,
  );
  expect(r.code, r.stderr).toBe(0);
}

const podManifest = (namespace: string, name: string, image: string) =>
  stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: { containers: [{ name: 'app', image }] },
  });

async function uidOf(namespace: string, name: string): Promise<string> {
  return await kubectlOk(kubectl, ['get', 'pod', name, '-n', namespace, '-o', 'jsonpath={.metadata.uid}']);
}

const podResults = async (namespace: string, name: string): Promise<ReportResult[]> =>
  (await reportResults(namespace)).filter((r) => r.policy === 'bulwark-images' && r.resources[0]?.name === name);

const imageEvents = (uid: string) => eventsAbout(ns, uid, 'BulwarkImageFailing');

beforeAll(async () => {
  tools = await registryTools();
  registry = await startRegistry('oci-registry', tools, join(work, 'registry'));
  front = await startFront({
    upstream: registry.host,
    intercept: (_req, res) => {
      if (!down) return false;
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE"}]}');
      return true;
    },
  });
  [keyA, keyB] = await Promise.all([generateKeyPair(tools, join(work, 'a')), generateKeyPair(tools, join(work, 'b'))]);
  const digest = await pushRandomImage(tools, `${front.host}/running/app:1`, join(work, 'layers'));
  signedByA = `${front.host}/running/app@${digest}`;
  await cosignSign(tools, keyA, signedByA, 'bundle');
  // The chart's copies of the PolicyReport CRDs (policyReports.installCRDs).
  await kubectlOk(kubectl, ['apply', '-f', join(REPO_ROOT, 'charts', 'bulwark', 'files', 'policyreport-crds')]);
  ns = await newNamespace('running');
  policyName = `running-${ns}`;
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: [keySecret('key-a', keyA.publicKeyPem), keySecret('key-b', keyB.publicKeyPem)].join('---\n'),
  });
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: policyManifest('key-a') });
}, 240_000);

afterAll(async () => {
  // No Pod of this registry is left to judge once it is gone (the policy's deletion needs agreement: it may stay).
  await kubectl(['delete', 'pod', 'signed', '-n', ns, '--ignore-not-found']);
  await kubectl(['delete', 'pod', 'outside', '-n', 'kube-system', '--ignore-not-found']);
  await kubectl(['delete', 'imagepolicy', policyName, '--ignore-not-found']);
  await front?.close();
  await registry?.stop();
});

describe('running Pods whose images no longer pass', () => {
  it('a Pod admitted under key A is reported `fail` once the policy trusts only key B, then cleared', async () => {
    const admitted = await retryUntil(
      () => kubectl(['apply', '-f', '-'], { user: 'alice', input: podManifest(ns, 'signed', signedByA) }),
      (r) => r.code === 0,
    );
    expect(admitted.code, admitted.stderr).toBe(0);
    const uid = await uidOf(ns, 'signed');
    // Under key A it passes: scans come and go without a result for it.
    await sleep(7_000);
    expect(await podResults(ns, 'signed')).toEqual([]);

    await trustOnly('key-b');
    // Never sent to Bulwark, so admitted whatever the policy says, and never judged either.
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: podManifest('kube-system', 'outside', signedByA) });
    await until(async () => (await podResults(ns, 'signed')).some((r) => r.result === 'fail'), WITHIN_MS);
    const [result] = await podResults(ns, 'signed');
    expect(result).toMatchObject({
      rule: policyName,
      result: 'fail',
      resources: [{ name: 'signed', uid }],
      properties: { image: signedByA, field: 'spec.containers[0].image', imagePolicies: policyName },
    });
    expect(result!.message).toContain(`image "${signedByA}" (spec.containers[0].image) is signed, but by a key`);
    expect(result!.message).toContain(`(ImagePolicy ${policyName})`);
    expect(await podResults('kube-system', 'outside')).toEqual([]);

    await until(async () => (await imageEvents(uid)).length > 0, WITHIN_MS);
    expect(await webhookMetrics()).toMatch(/bulwark_running_pods_failing_images\{result="fail"\} [1-9]/);
    const status = await pluginOk(['status', '-n', ns], 'dave');
    expect(status).toContain('Running Pods whose images no longer pass: 1 failing, 0 unverifiable\n');
    expect(status).toContain(`  fail Pod ${ns}/signed: image "${signedByA}"`);
    // Once: later scans find the same failure and write no second Event.
    await sleep(7_000);
    const events = await imageEvents(uid);
    expect(events.map((e) => e.type)).toEqual(['Warning']);
    expect(events[0]!.message).toContain(`Pod ${ns}/signed runs an image that no longer passes`);

    await trustOnly('key-a');
    await until(async () => (await podResults(ns, 'signed')).length === 0, WITHIN_MS);
  });

  it('a registry that cannot be reached makes the result `error`, named as such, until it answers again', async () => {
    down = true;
    // A new resourceVersion: the verified result cached under the old one does not answer for it.
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: policyManifest('key-a', 'registry-down') });
    await until(async () => (await podResults(ns, 'signed')).some((r) => r.result === 'error'), WITHIN_MS);
    const [result] = await podResults(ns, 'signed');
    expect(result!.message).toContain('could not be verified: the registry failed');
    expect(await webhookMetrics()).toMatch(/bulwark_running_pods_failing_images\{result="error"\} [1-9]/);
    down = false;
    await until(async () => (await podResults(ns, 'signed')).length === 0, WITHIN_MS);
  });
});
