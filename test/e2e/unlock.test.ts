// Break-glass against the real apiserver, with three approvers and the kubectl plugin:
// alice requests, bob and carol approve, then the change goes through; every way of
// cheating is refused with a clear message; after expiry the object is locked again.
// Also the deletion guards: namespaces and CRDs that still hold locked objects.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { httpsRequest } from '../helpers/https.ts';
import { e2eCluster, kubectl, LOCK_LABEL, newNamespace, type UserName } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { plugin, pluginOk, until } from './helpers/plugin.ts';
import { retryUntil } from './helpers/retry.ts';

const configMap = (ns: string, name: string, color: string, locked = true) =>
  stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, ...(locked ? { labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } } : {}) },
    data: { color },
  });

const colorOf = async (ns: string, name: string) =>
  kubectlOk(kubectl, ['get', 'cm', name, '-n', ns, '-o', 'jsonpath={.data.color}']);
const setColor = (ns: string, name: string, color: string, user: UserName = 'alice') =>
  kubectl(['patch', 'cm', name, '-n', ns, '-p', JSON.stringify({ data: { color } })], { user });

let ns: string;

beforeAll(async () => {
  ns = await newNamespace('unlock');
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: stringify({
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'ImmutabilityPolicy',
      metadata: { name: `unlock-${ns}` },
      spec: {
        match: { namespaces: [ns] },
        message: 'Ask two approvers.',
        unlock: { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h' },
      },
    }),
  });
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: configMap(ns, 'cfg', 'blue') });
  await until(async () => (await setColor(ns, 'cfg', 'probe')).stderr.includes('Ask two approvers.'));
});

describe('kubectl bulwark lock', () => {
  it('locks an object as the user, and the lock holds', async () => {
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: configMap(ns, 'plain', 'white', false) });
    expect(await pluginOk(['lock', 'cm/plain', '-n', ns], 'dave')).toContain(
      `ConfigMap ${ns}/plain is locked (bulwark.dev/immutable=true)`,
    );
    expect((await setColor(ns, 'plain', 'black', 'dave')).code).not.toBe(0);
  });
});

describe('an unlock approved by two others', () => {
  let name: string;

  it('alice requests; until approved, her change is still denied and the message says why', async () => {
    const out = await pluginOk(
      ['unlock', 'request', 'configmap/cfg', '-n', ns, '--reason', 'rebrand', '--duration', '10m'],
      'alice',
    );
    name = /unlockrequest\/(\S+) created/.exec(out)![1]!;
    await until(async () =>
      (await setColor(ns, 'cfg', 'red')).stderr.includes(`UnlockRequest ${name}: it has 0 of the 2 approvals it needs`),
    );
  });

  it('alice cannot approve her own request', async () => {
    const r = await plugin(['unlock', 'approve', name], 'alice');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('alice requested this unlock and cannot approve it');
  });

  it('bob approves; status then says pending, approvals 1 of 2 (text, JSON and YAML)', async () => {
    expect(await pluginOk(['unlock', 'approve', name, '--comment', 'ok for the rebrand'], 'bob')).toContain(
      `approved by bob`,
    );
    expect(await pluginOk(['status', '-n', ns], 'dave')).toMatch(
      new RegExp(`${name}: ConfigMap ${ns}/cfg \\[UPDATE\\] by alice; pending, approvals 1 of 2, expires `),
    );
    const json = JSON.parse(await pluginOk(['status', '-n', ns, '-o', 'json'], 'dave'));
    expect(json.unlocks.find((u: { name: string }) => u.name === name)).toMatchObject({
      phase: 'pending',
      approvals: 1,
      approvalsRequired: 2,
      approvers: ['bob'],
    });
    const yaml = parse(await pluginOk(['status', '-n', ns, '-o', 'yaml'], 'dave'));
    expect(yaml.locked).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'ConfigMap', namespace: ns, name: 'cfg' })]),
    );
  });

  it("an approval written in another user's name is refused", async () => {
    const r = await kubectl(
      [
        'patch',
        'unlockrequest',
        name,
        '--type=json',
        '-p',
        '[{"op":"add","path":"/spec/approvals/-","value":{"user":"carol"}}]',
      ],
      { user: 'dave' },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('an approval must name the user who makes it: you are dave, the approval names carol');
  });

  it('dave, not an approver, cannot approve; nobody can change the request itself', async () => {
    const r = await plugin(['unlock', 'approve', name], 'dave');
    expect(r.stderr).toContain(`dave is not in an approver group of ImmutabilityPolicy unlock-${ns} (approvers)`);
    const edit = await kubectl(['patch', 'unlockrequest', name, '--type=merge', '-p', '{"spec":{"duration":"1h"}}'], {
      user: 'bob',
    });
    expect(edit.stderr).toContain(
      'only spec.approvals, spec.rejections and spec.reviews may change after an UnlockRequest is created; ' +
        'this update changes spec.duration',
    );
    const removal = await kubectl(
      ['patch', 'unlockrequest', name, '--type=json', '-p', '[{"op":"remove","path":"/spec/approvals/0"}]'],
      { user: 'carol' },
    );
    expect(removal.stderr).toContain('approvals are append-only');
  });

  it('carol approves, and the change goes through with a warning naming the request and approvers', async () => {
    await pluginOk(['unlock', 'approve', name], 'carol');
    // Keep the first success: repeating the same patch afterwards is a no-op the webhook never sees.
    const result = await retryUntil(
      () => setColor(ns, 'cfg', 'red'),
      (r) => r.code === 0,
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(result.stderr).toContain(
      `Warning: ConfigMap ${ns}/cfg is locked, but UnlockRequest ${name} (requested by alice, approved by bob, ` +
        `carol) allows this update until`,
    );
    expect(await colorOf(ns, 'cfg')).toBe('red');
    // Log lines reach the file within Bulwark's flush interval (200 ms).
    await expect
      .poll(() => readFileSync(join(e2eCluster().dir, 'bulwark.log'), 'utf8'), { timeout: 3000 })
      .toContain('immutability:unlocked');
    const metrics = await httpsRequest(`https://127.0.0.1:${e2eCluster().webhookPort}/metrics`, {
      ca: readFileSync(join(e2eCluster().dir, 'webhook-ca.crt')),
    });
    expect(metrics.body).toMatch(
      /bulwark_admission_requests_total\{rule="immutability",decision="unlocked",operation="UPDATE"\} [1-9]/,
    );
  });

  it('kubectl bulwark status shows the lock and the active unlock', async () => {
    expect(await pluginOk(['status', '-n', ns], 'dave')).toContain(`ConfigMap ${ns}/cfg`);
    // With its phase as Bulwark's status loop last wrote it (every 5 s; polled, since under load
    // the loop can still show the Pending it wrote before the second approval).
    await expect
      .poll(() => pluginOk(['status', '-n', ns], 'dave'), { timeout: 20_000, interval: 1_000 })
      .toMatch(
        new RegExp(
          `${name}: ConfigMap ${ns}/cfg \\[UPDATE\\] by alice; (?:approved|active), approvals 2 of 2, expires .* ` +
            `\\(approved by bob, carol\\)`,
        ),
      );
  });

  it('the unlock does not cover DELETE', async () => {
    const r = await kubectl(['delete', 'cm', 'cfg', '-n', ns], { user: 'alice' });
    expect(r.stderr).toContain(`UnlockRequest ${name}: it does not unlock DELETE`);
  });
});

describe('an unlock bound to one exact change', () => {
  it('admits that change and no other', async () => {
    const patch = JSON.stringify([{ op: 'replace', path: '/data/color', value: 'green' }]);
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: configMap(ns, 'bound', 'blue') });
    const out = await pluginOk(
      ['unlock', 'request', 'cm/bound', '-n', ns, '--reason', 'exactly green', '--patch', patch],
      'alice',
    );
    const name = /unlockrequest\/(\S+) created/.exec(out)![1]!;
    await pluginOk(['unlock', 'approve', name], 'bob');
    await pluginOk(['unlock', 'approve', name], 'carol');
    await until(async () =>
      (await setColor(ns, 'bound', 'red')).stderr.includes('this update is not the change it was approved for'),
    );
    expect(await colorOf(ns, 'bound')).toBe('blue');
    await until(async () => (await setColor(ns, 'bound', 'green')).code === 0);
    expect(await colorOf(ns, 'bound')).toBe('green');
  });
});

describe('expiry', () => {
  /** Waits until the UnlockRequest has expired (its creation time plus `seconds`, and a margin). */
  async function untilExpired(name: string, seconds: number): Promise<void> {
    const created = Date.parse(
      await kubectlOk(kubectl, ['get', 'unlockrequest', name, '-o', 'jsonpath={.metadata.creationTimestamp}']),
    );
    await new Promise((r) => setTimeout(r, Math.max(0, created + seconds * 1000 + 1000 - Date.now())));
  }

  // The one expiry test on the real clock, with a wide margin: three plugin runs and a
  // change (one to three seconds each on a loaded machine) fit in the 25 s with room to
  // spare. Expiry to the millisecond, and approvals after expiry, are tested with an
  // injected clock (test/unit/cluster/facts.test.ts, test/unit/unlock/unlock.test.ts).
  it('after expiry the object is locked again', async () => {
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: configMap(ns, 'brief', 'blue') });
    const out = await pluginOk(
      ['unlock', 'request', 'cm/brief', '-n', ns, '--reason', 'quick fix', '--duration', '25s'],
      'alice',
    );
    const name = /unlockrequest\/(\S+) created/.exec(out)![1]!;
    await pluginOk(['unlock', 'approve', name], 'bob');
    await pluginOk(['unlock', 'approve', name], 'carol');
    await until(async () => (await setColor(ns, 'brief', 'yellow')).code === 0);
    await untilExpired(name, 25);
    const after = await setColor(ns, 'brief', 'orange');
    expect(after.code).not.toBe(0);
    expect(after.stderr).toMatch(new RegExp(`UnlockRequest ${name}: it expired at`));
    expect(await colorOf(ns, 'brief')).toBe('yellow');
  });

  it("requests are refused when longer than the policy allows, or made in someone else's name", async () => {
    const long = await plugin(
      ['unlock', 'request', 'cm/cfg', '-n', ns, '--reason', 'too long', '--duration', '2h'],
      'alice',
    );
    expect(long.stderr).toContain(
      `spec.duration 2h is longer than 1h, the longest unlock ImmutabilityPolicy unlock-${ns} allows`,
    );
    const forged = await kubectl(['create', '-f', '-'], {
      user: 'dave',
      input: stringify({
        apiVersion: 'bulwark.dev/v1alpha1',
        kind: 'UnlockRequest',
        metadata: { name: `forged-${ns}` },
        spec: {
          target: { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cfg' },
          operations: ['UPDATE'],
          reason: 'x',
          duration: '5m',
          requester: 'alice',
        },
      }),
    });
    expect(forged.stderr).toContain('spec.requester must be the user creating the request (dave), not "alice"');
  });
});

describe('kubectl bulwark why', () => {
  it('says whether applying a manifest would be allowed, changing nothing', async () => {
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: configMap(ns, 'why', 'blue') });
    const denied = await plugin(['why', '-f', '-'], 'alice', configMap(ns, 'why', 'pink'));
    expect(denied.code).toBe(1);
    expect(denied.stdout).toContain(
      `ConfigMap ${ns}/why: this change would be denied: admission webhook "immutability.bulwark.dev" denied ` +
        `the request: ConfigMap ${ns}/why is locked`,
    );
    expect(denied.stdout).toContain('data.color (changed)');
    const same = await plugin(['why', '-f', '-'], 'alice', configMap(ns, 'why', 'blue'));
    expect(same.stdout).toContain(`ConfigMap ${ns}/why: this change would be allowed`);
    expect(await colorOf(ns, 'why')).toBe('blue');
  });
});

describe('deletion guards', () => {
  it('a namespace holding locked objects is not deleted, and the message names them', async () => {
    const guarded = await newNamespace('guard');
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: configMap(guarded, 'keep-me', 'blue') });
    const r = await kubectl(['delete', 'namespace', guarded, '--wait=false']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `Namespace ${guarded} still holds locked objects (ConfigMap keep-me): deleting the namespace would try to ` +
        `delete them, be denied, and leave it stuck Terminating`,
    );
    expect(await kubectlOk(kubectl, ['get', 'namespace', guarded, '-o', 'jsonpath={.status.phase}'])).toBe('Active');
  });

  it('a namespace without locked objects can be deleted', async () => {
    const free = await newNamespace('free');
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: configMap(free, 'x', 'blue', false) });
    const r = await kubectl(['delete', 'namespace', free, '--wait=false']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('a CRD with locked objects is not deleted; without them it is', async () => {
    const crd = (group: string) =>
      stringify({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `gadgets.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { kind: 'Gadget', plural: 'gadgets', singular: 'gadget', listKind: 'GadgetList' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          ],
        },
      });
    const locked = `${ns}.guard.e2e.bulwark.dev`;
    const unlockedGroup = `${ns}.free.e2e.bulwark.dev`;
    for (const g of [locked, unlockedGroup]) {
      await kubectlOk(kubectl, ['apply', '-f', '-'], { input: crd(g) });
      await kubectlOk(kubectl, ['wait', '--for=condition=established', `crd/gadgets.${g}`, '--timeout=30s']);
    }
    const gadget = stringify({
      apiVersion: `${locked}/v1`,
      kind: 'Gadget',
      metadata: { name: 'sprocket', namespace: ns, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
    });
    await until(async () => (await kubectl(['apply', '-f', '-'], { input: gadget })).code === 0);
    const r = await kubectl(['delete', 'crd', `gadgets.${locked}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `CustomResourceDefinition gadgets.${locked} still holds locked objects (Gadget ${ns}/sprocket): deleting ` +
        `the CRD would delete them without asking any admission webhook`,
    );
    const free = await kubectl(['delete', 'crd', `gadgets.${unlockedGroup}`]);
    expect(free.code, free.stderr).toBe(0);
  });
});
