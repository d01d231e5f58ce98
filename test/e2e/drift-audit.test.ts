// Seals and the drift audit on the real apiserver (issue 14). A locked ConfigMap is sealed
// by Bulwark's audit loop; changed while the webhooks were unregistered, the drift shows in
// the namespace's PolicyReport, as an Event on the object and in the metric, within a few
// scan intervals (the harness scans every 3 s). A change an approved unlock allowed re-seals,
// naming the request and its approvers; a seal edited by an admin is reported, not believed.

import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { REPO_ROOT } from '../../harness/paths.ts';
import { kubectl, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { pluginOk, until } from './helpers/plugin.ts';
import { approvablePolicy, approvedUnlock, createLockedConfigMap } from './helpers/unlock.ts';
import { whileWebhookIsAway } from './helpers/webhook-away.ts';
import { sealed, sealOf } from './helpers/seals.ts';
import { eventsAbout, reportResults as namespaceResults, webhookMetrics } from './helpers/audit.ts';

const WITHIN_MS = 30_000;
let ns: string;

const lockedConfigMap = (name: string) => createLockedConfigMap(ns, name);

const reportResults = () => namespaceResults(ns);
const metrics = webhookMetrics;

beforeAll(async () => {
  // The chart's copies (policyReports.installCRDs): they must take Bulwark's reports as written.
  await kubectlOk(kubectl, ['apply', '-f', join(REPO_ROOT, 'charts', 'bulwark', 'files', 'policyreport-crds')]);
  ns = await newNamespace('drift');
  const policy = parse(approvablePolicy(`drift-${ns}`, { namespaces: [ns] }));
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: stringify(policy) });
});

describe('seals and the drift audit', () => {
  it('seals a locked object: its content hash, signed with Bulwark`s key', async () => {
    const uid = await lockedConfigMap('sealed');
    const seal = await sealed(uid);
    expect(seal.spec.target.name).toBe('sealed');
    expect(seal.spec.current).toMatchObject({ reason: 'locked', hash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
  });

  it('a change made while the webhooks were away is drift: PolicyReport, Event and metric', async () => {
    const uid = await lockedConfigMap('drifted');
    await sealed(uid);
    await whileWebhookIsAway(
      async () =>
        (await kubectl(['patch', 'cm', 'drifted', '-n', ns, '-p', '{"data":{"color":"red"}}'], { user: 'alice' }))
          .code === 0,
    );
    await until(
      async () => (await reportResults()).some((r) => r.rule === 'changed' && r.resources[0]?.name === 'drifted'),
      WITHIN_MS,
    );
    const result = (await reportResults()).find((r) => r.resources[0]?.name === 'drifted')!;
    expect(result.message).toContain(`ConfigMap ${ns}/drifted changed outside the rules`);
    const events = await eventsAbout(ns, uid, 'BulwarkDrift');
    expect(events.map((e) => e.type)).toEqual(['Warning']);
    expect(events[0]!.message).toContain('changed outside the rules');
    expect(await metrics()).toMatch(/bulwark_drift_objects\{reason="changed"\} [1-9]/);
    expect(await pluginOk(['status', '-n', ns], 'dave')).toContain(
      `Drift (found by the audit):\n  changed: ConfigMap ${ns}/drifted changed outside the rules`,
    );
    // The seal still holds the sealed state: drift is reported, never adopted.
    expect((await sealOf(uid))!.spec.current.reason).toBe('locked');
  });

  it('a change an approved unlock allowed re-seals, linked to the request and its approvers', async () => {
    const uid = await lockedConfigMap('unlocked');
    const before = await sealed(uid);
    const unlock = await approvedUnlock({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'unlocked' }, [
      'UPDATE',
    ]);
    await kubectlOk(kubectl, ['patch', 'cm', 'unlocked', '-n', ns, '-p', '{"data":{"color":"green"}}'], {
      user: 'alice',
    });
    const after = await sealed(uid, (s) => s.spec.current.reason === 'unlocked');
    expect(after.spec.current).toMatchObject({ unlockRequest: unlock, approvers: ['bob', 'carol'] });
    expect(after.spec.current.hash).not.toBe(before.spec.current.hash);
    expect(after.spec.history?.[0]?.hash).toBe(before.spec.current.hash);
    expect((await reportResults()).some((r) => r.resources[0]?.name === 'unlocked')).toBe(false);
  });

  it('a seal edited by anyone but Bulwark is reported, not believed', async () => {
    const uid = await lockedConfigMap('tampered');
    const seal = await sealed(uid);
    const forged = seal.spec.current.hash.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    await kubectlOk(kubectl, [
      'patch',
      'seal',
      uid,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { current: { hash: forged } } }),
    ]);
    await until(
      async () => (await reportResults()).some((r) => r.rule === 'seal-invalid' && r.resources[0]?.name === 'tampered'),
      WITHIN_MS,
    );
  });
});
