// Attested approvals on the real apiserver (issue 14): Bulwark's mutating webhook stamps
// every approval it admits, and only stamped approvals unlock. The attacks: approvals
// written while Bulwark's webhooks were unregistered, and an attested approval copied
// from another UnlockRequest; neither unlocks, and the denial says why.

import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { kubectl, newNamespace, type UserName } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { BULWARK_NAMESPACE } from '../../harness/registration.ts';
import { until } from './helpers/plugin.ts';
import { approvablePolicy, approvedUnlock, createLockedConfigMap } from './helpers/unlock.ts';
import { whileWebhookIsAway } from './helpers/webhook-away.ts';

interface StoredApproval {
  user: string;
  groups?: string[];
  attestation?: { keyId: string; at: string; mac: string };
}

let ns: string;
const target = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name });
const setColor = (name: string, color: string, user: UserName = 'alice') =>
  kubectl(['patch', 'cm', name, '-n', ns, '-p', JSON.stringify({ data: { color } })], { user });
const approvalsOf = async (name: string): Promise<StoredApproval[]> =>
  JSON.parse(await kubectlOk(kubectl, ['get', 'unlockrequest', name, '-o', 'json'])).spec.approvals ?? [];

const lockedConfigMap = (name: string) => createLockedConfigMap(ns, name);

/** An UnlockRequest by alice for `name`, with no approvals yet. */
async function request(name: string, unlock: string): Promise<void> {
  await kubectlOk(kubectl, ['create', '-f', '-'], {
    user: 'alice',
    input: stringify({
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'UnlockRequest',
      metadata: { name: unlock },
      spec: { target: target(name), operations: ['UPDATE'], reason: 'e2e', duration: '30m', requester: 'alice' },
    }),
  });
}

/** Writes the approvals as `user` in one JSON Patch (only possible while the webhooks are away). */
const writeApprovals = (unlock: string, approvals: unknown[], user: UserName) => async () =>
  (
    await kubectl(
      [
        'patch',
        'unlockrequest',
        unlock,
        '--type=json',
        '-p',
        JSON.stringify([{ op: 'add', path: '/spec/approvals', value: approvals }]),
      ],
      { user },
    )
  ).code === 0;

beforeAll(async () => {
  ns = await newNamespace('attest');
  const policy = parse(approvablePolicy(`attest-${ns}`, { namespaces: [ns] }));
  policy.spec.message = 'Ask two approvers (attest).';
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: stringify(policy) });
  await lockedConfigMap('probe');
  await until(async () => (await setColor('probe', 'x')).stderr.includes('(attest)'), 15_000);
});

describe('approvals Bulwark admits are attested, and unlock', () => {
  it('stamps each approval with its key id, and the approved change goes through', async () => {
    await lockedConfigMap('legit');
    const unlock = await approvedUnlock(target('legit'), ['UPDATE']);
    const approvals = await approvalsOf(unlock);
    expect(approvals.map((a) => a.user)).toEqual(['bob', 'carol']);
    const secret = JSON.parse(
      await kubectlOk(kubectl, ['get', 'secret', 'bulwark-attestation-keys', '-n', BULWARK_NAMESPACE, '-o', 'json']),
    );
    const keyIds = Object.keys(secret.data);
    for (const a of approvals) {
      expect(keyIds).toContain(a.attestation?.keyId);
      expect(a.attestation?.mac).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    }
    const r = await setColor('legit', 'green');
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('approvals written while Bulwark was away never unlock', () => {
  it('real approvers, their real groups, but no attestation: denied, saying why', async () => {
    await lockedConfigMap('away');
    await request('away', 'unlock-away');
    const groups = ['dev', 'approvers', 'system:authenticated'];
    await whileWebhookIsAway(
      writeApprovals(
        'unlock-away',
        [
          { user: 'bob', groups },
          { user: 'carol', groups },
        ],
        'dave',
      ),
    );
    expect((await approvalsOf('unlock-away')).every((a) => a.attestation === undefined)).toBe(true);
    const r = await setColor('away', 'red');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('UnlockRequest unlock-away: it has 0 of the 2 approvals it needs');
    expect(r.stderr).toContain("bob's approval was not admitted by Bulwark (it carries no attestation by Bulwark");
  });

  it('attested approvals copied from another UnlockRequest do not count either (forged)', async () => {
    await lockedConfigMap('copied');
    const genuine = await approvedUnlock(target('copied'), ['DELETE']);
    const copies = await approvalsOf(genuine);
    await request('copied', 'unlock-copied');
    await whileWebhookIsAway(writeApprovals('unlock-copied', copies, 'dave'));
    const r = await setColor('copied', 'red');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("carol's approval was not admitted by Bulwark (its MAC does not match");
  });

  it('with Bulwark back, an approval carrying a made-up attestation is stamped anew or refused', async () => {
    await request('probe', 'unlock-made-up');
    const forged = {
      user: 'bob',
      groups: ['approvers'],
      attestation: { keyId: 'x', at: '2026-01-01T00:00:00Z', mac: 'AA==' },
    };
    const r = await kubectl(
      [
        'patch',
        'unlockrequest',
        'unlock-made-up',
        '--type=json',
        '-p',
        JSON.stringify([{ op: 'add', path: '/spec/approvals', value: [forged] }]),
      ],
      { user: 'dave' },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('an approval must name the user who makes it');
    expect(await approvalsOf('unlock-made-up')).toEqual([]);
  });
});
