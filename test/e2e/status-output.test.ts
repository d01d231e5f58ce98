// `kubectl bulwark status` as a user runs it: `-n` shows one namespace's locked objects
// and unlocks, `-A` every namespace's; a pending UnlockRequest with one of two approvals
// shows phase pending and "approvals 1 of 2"; `-o json` and `-o yaml` carry the report.

import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { BULWARK_NAMESPACE } from '../../harness/registration.ts';
import { plugin, pluginOk, requestUnlock, until } from './helpers/plugin.ts';

let first: string;
let second: string;
let unlock: string;

interface Report {
  scope: string;
  locked: { kind: string; namespace?: string; name: string }[];
  unlocks: { name: string; phase: string; approvals: number; approvalsRequired: number }[];
}

const lockedIn = (ns: string) =>
  stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: ns, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
    data: { color: 'blue' },
  });

beforeAll(async () => {
  first = await newNamespace('status-a');
  second = await newNamespace('status-b');
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: stringify({
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'ImmutabilityPolicy',
      metadata: { name: `status-${first}` },
      spec: {
        match: { namespaces: [first, second] },
        unlock: { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h' },
      },
    }),
  });
  for (const ns of [first, second]) await kubectlOk(kubectl, ['apply', '-f', '-'], { input: lockedIn(ns) });
  unlock = await requestUnlock(['cm/settings', '-n', first, '--reason', 'new colour', '--duration', '30m'], 'alice');
  await pluginOk(['unlock', 'approve', unlock], 'bob');
});

describe('kubectl bulwark status', () => {
  it('-n shows one namespace: its locked object and its pending unlock, "approvals 1 of 2"', async () => {
    let text = '';
    await until(async () => {
      text = await pluginOk(['status', '-n', first], 'alice');
      return text.includes(unlock) && text.includes('approvals 1 of 2');
    }, 30_000);
    expect(text).toContain(`ConfigMap ${first}/settings`);
    expect(text).not.toContain(`ConfigMap ${second}/settings`);
    expect(text).toMatch(
      new RegExp(`${unlock}: ConfigMap ${first}/settings \\[UPDATE\\] by alice; pending, approvals 1 of 2`),
    );
  });

  it("ends with the loops' state, read from the Lease the replicas elect their leader with", async () => {
    // The harness's Bulwark runs the loops: an admin sees who runs them.
    const running = new RegExp(
      `^Loops: run by \\S+ in namespace ${BULWARK_NAMESPACE} \\(Lease renewed \\d+ s ago\\)$`,
      'm',
    );
    let text = '';
    await until(async () => {
      text = await pluginOk(['status', '-n', first], 'admin');
      return running.test(text);
    }, 30_000).catch(() => {});
    expect(text).toMatch(running);
    // Other tests' Leases of that name (other namespaces, fake clocks) show as paused: one line each.
    expect(text.trimEnd().split('\n').at(-1)).toMatch(/^Loops/);
  });

  it('-A -o json shows every namespace; -o yaml carries the same report', async () => {
    const json = JSON.parse(await pluginOk(['status', '-A', '-o', 'json'], 'alice')) as Report;
    expect(json.scope).toBe('all namespaces');
    expect(json.locked).toEqual(
      expect.arrayContaining([
        // (each also says who locked it: lockedBy, test/e2e/lock-attribution.test.ts)
        expect.objectContaining({ kind: 'ConfigMap', namespace: first, name: 'settings' }),
        expect.objectContaining({ kind: 'ConfigMap', namespace: second, name: 'settings' }),
      ]),
    );
    expect(json.unlocks.find((u) => u.name === unlock)).toMatchObject({
      phase: 'pending',
      approvals: 1,
      approvalsRequired: 2,
    });
    const yaml = parse(await pluginOk(['status', '-n', second, '-o', 'yaml'], 'alice')) as Report;
    const names = yaml.locked.map((l) => `${l.kind} ${l.namespace}/${l.name}`);
    expect(names).toContain(`ConfigMap ${second}/settings`);
    expect(names).not.toContain(`ConfigMap ${first}/settings`);
    expect(yaml.unlocks.map((u) => u.name)).not.toContain(unlock);
    expect((await plugin(['status', '-o', 'xml'], 'alice')).code).toBe(2);
  });
});
