// The drift audit checks changes under unlocks (issue 14) on the real apiserver. An
// UnlockRequest bound to one exact --patch is approved; while the webhooks are unregistered a
// different change is made (admission would have refused it); the webhooks come back and the
// audit reports drift (PolicyReport, Event, metric) as changed-outside-unlock, and does not
// re-seal. A record forged without Bulwark's key does not help, and a change replayed while
// the webhook was away, after A->B->A went through admission, is drift too. The legitimate
// path: the approved patch applied through admission re-seals, naming the unlock, its
// requester and approvers and who made the change, and its record is consumed.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { KubeObject } from '../../src/admission/types.ts';
import { contentHash } from '../../src/attestation/seal.ts';
import { e2eCluster, kubectl, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { REPO_ROOT } from '../../harness/paths.ts';
import { BULWARK_NAMESPACE } from '../../harness/registration.ts';
import { httpsRequest } from '../helpers/https.ts';
import { pluginOk, until } from './helpers/plugin.ts';
import { sealed, sealOf } from './helpers/seals.ts';
import { approvablePolicy, approvedUnlock, createLockedConfigMap } from './helpers/unlock.ts';
import { whileWebhookIsAway } from './helpers/webhook-away.ts';
import { eventsAbout } from './helpers/audit.ts';

const WITHIN_MS = 30_000;
const PATCH = [{ op: 'replace', path: '/data/color', value: 'red' }];
let ns: string;
const forgedRecords: string[] = [];

const reportResults = async () => {
  const r = await kubectl(['get', 'policyreports.wgpolicyk8s.io', 'bulwark-drift', '-n', ns, '-o', 'json']);
  return r.code === 0
    ? ((JSON.parse(r.stdout).results ?? []) as { rule: string; message: string; resources: { name: string }[] }[])
    : [];
};
const driftOf = async (name: string, rule: string) => {
  await until(
    async () => (await reportResults()).some((r) => r.rule === rule && r.resources[0]?.name === name),
    WITHIN_MS,
  );
  return (await reportResults()).find((r) => r.resources[0]?.name === name)!;
};

const metrics = async () =>
  (
    await httpsRequest(`https://127.0.0.1:${e2eCluster().webhookPort}/metrics`, {
      ca: readFileSync(join(e2eCluster().dir, 'webhook-ca.crt')),
    })
  ).body;

const target = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name });
const colour = (name: string, color: string, user = 'alice' as const) =>
  kubectl(['patch', 'cm', name, '-n', ns, '-p', JSON.stringify({ data: { color } })], { user });
const configMap = async (name: string) =>
  JSON.parse(await kubectlOk(kubectl, ['get', 'cm', name, '-n', ns, '-o', 'json'])) as KubeObject;

const records = async (name: string) =>
  (
    JSON.parse(await kubectlOk(kubectl, ['get', 'unlockedchanges', '-n', BULWARK_NAMESPACE, '-o', 'json'])).items as {
      spec: { target: { name: string; namespace?: string } };
    }[]
  ).filter((r) => r.spec.target.name === name && r.spec.target.namespace === ns);

beforeAll(async () => {
  await kubectlOk(kubectl, ['apply', '-f', join(REPO_ROOT, 'charts', 'bulwark', 'files', 'policyreport-crds')]);
  ns = await newNamespace('unlockaudit');
  const policy = parse(approvablePolicy(`unlockaudit-${ns}`, { namespaces: [ns] }));
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: stringify(policy) });
});

afterAll(async () => {
  for (const name of forgedRecords) await kubectl(['delete', 'unlockedchanges', name, '-n', BULWARK_NAMESPACE]);
});

describe('the audit checks changes under unlocks', () => {
  it('the approved patch, applied through admission, re-seals naming the unlock, and uses up its record', async () => {
    const uid = await createLockedConfigMap(ns, 'patched');
    const before = await sealed(uid);
    const unlock = await approvedUnlock(target('patched'), ['UPDATE'], { patch: PATCH });
    await kubectlOk(kubectl, ['patch', 'cm', 'patched', '-n', ns, '--type=json', '-p', JSON.stringify(PATCH)], {
      user: 'alice',
    });
    const after = await sealed(uid, (s) => s.spec.current.reason === 'unlocked');
    expect(after.spec.current).toMatchObject({
      hash: contentHash(await configMap('patched')),
      unlockRequest: unlock,
      approvers: ['bob', 'carol'],
      unlock: { kind: 'UnlockRequest', name: unlock, requester: 'alice' },
      changedBy: { user: 'alice', requestUid: expect.any(String) },
      records: [expect.any(String)],
    });
    expect(after.spec.history?.[0]?.hash).toBe(before.spec.current.hash);
    expect(await pluginOk(['rollback', 'configmap/patched', '-n', ns], 'dave')).toContain(
      `unlocked by UnlockRequest ${unlock}, approved by bob, carol, changed by alice`,
    );
    await until(async () => (await records('patched')).length === 0, WITHIN_MS);
    expect((await reportResults()).some((r) => r.resources[0]?.name === 'patched')).toBe(false);
  });

  it('another change made while the webhook was away, in a patch-bound unlock`s window, is drift', async () => {
    const uid = await createLockedConfigMap(ns, 'bypassed');
    const before = await sealed(uid);
    const unlock = await approvedUnlock(target('bypassed'), ['UPDATE'], { patch: PATCH });
    // Admission refuses it: it is not the approved change.
    const refused = await colour('bypassed', 'black');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('this update is not the change it was approved for');
    await whileWebhookIsAway(async () => (await colour('bypassed', 'black')).code === 0);
    const result = await driftOf('bypassed', 'changed-outside-unlock');
    expect(result.message).toContain(
      `ConfigMap ${ns}/bypassed was changed while UnlockRequest ${unlock} allowed it, but not through Bulwark`,
    );
    const events = await eventsAbout(ns, uid, 'BulwarkDrift');
    expect(events.map((e) => e.type)).toEqual(['Warning']);
    expect(events[0]!.message).toContain('but not through Bulwark');
    expect(await metrics()).toMatch(/bulwark_drift_objects\{reason="changed-outside-unlock"\} [1-9]/);
    // Reported, never adopted.
    expect((await sealOf(uid))!.spec.current).toMatchObject({ reason: 'locked', hash: before.spec.current.hash });
  });

  it('a record forged without Bulwark`s key does not make a change while the webhook was away legitimate', async () => {
    const uid = await createLockedConfigMap(ns, 'forged');
    const before = await sealed(uid);
    const unlock = await approvedUnlock(target('forged'), ['UPDATE']);
    const current = await configMap('forged');
    const forged = {
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'UnlockedChange',
      metadata: { name: `forged-${uid}`, namespace: BULWARK_NAMESPACE },
      spec: {
        requestUid: `forged-${uid}`,
        user: 'alice',
        groups: ['dev'],
        at: new Date().toISOString(),
        target: { group: '', version: 'v1', kind: 'ConfigMap', namespace: ns, name: 'forged', uid },
        unlock: { kind: 'UnlockRequest', name: unlock },
        from: before.spec.current.hash,
        to: contentHash({ ...current, data: { color: 'black' } } as KubeObject),
        fromResourceVersion: current.metadata!.resourceVersion,
        attestation: { keyId: '20261129T000000Z-abcdef', mac: Buffer.alloc(32, 1).toString('base64') },
      },
    };
    await kubectlOk(kubectl, ['create', '-f', '-'], { input: JSON.stringify(forged), user: 'dave' });
    forgedRecords.push(forged.metadata.name);
    await whileWebhookIsAway(async () => (await colour('forged', 'black', 'alice')).code === 0);
    const result = await driftOf('forged', 'changed-outside-unlock');
    expect(result.message).toContain("1 record(s) naming it are not Bulwark's (forged or altered)");
    expect((await sealOf(uid))!.spec.current.hash).toBe(before.spec.current.hash);
  });

  it('a change replayed while the webhook was away, after going there and back by admission, is drift', async () => {
    const uid = await createLockedConfigMap(ns, 'replayed');
    await sealed(uid);
    await approvedUnlock(target('replayed'), ['UPDATE']);
    expect((await colour('replayed', 'red')).code).toBe(0);
    const red = await sealed(uid, (s) => s.spec.current.reason === 'unlocked');
    expect((await colour('replayed', 'blue')).code).toBe(0);
    await sealed(uid, (s) => s.spec.current.hash !== red.spec.current.hash);
    await whileWebhookIsAway(async () => (await colour('replayed', 'red')).code === 0);
    const result = await driftOf('replayed', 'changed-outside-unlock');
    expect(result.message).toContain('but not through Bulwark');
  });
});
