// Who locked it (issue 14): the replica that admits a lock records the user the apiserver
// authenticated, under Bulwark's key, and the seal names that user. Attacks: a record written
// by someone else (the harness users may write anywhere Bulwark runs here) never names
// anybody, not even when it claims to be newer; in the chart's release namespace the
// self-protection policy refuses the write outright. A dry run records nothing; a lock made
// while Bulwark was away is sealed with `unknown`, why, and the client that set the label.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { contentHash, type LockedBy } from '../../src/attestation/seal.ts';
import { kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { BULWARK_NAMESPACE } from '../../harness/registration.ts';
import { SELF_PROTECTION_DENIAL, SELF_PROTECTION_NAMESPACE } from '../../harness/self-protection.ts';
import { pluginOk } from './helpers/plugin.ts';
import { sealed } from './helpers/seals.ts';
import { whileWebhookIsAway } from './helpers/webhook-away.ts';

let ns: string;

const configMapObject = (name: string, locked: boolean) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, ...(locked ? { labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } } : {}) },
  data: { color: 'blue' },
});
const configMap = (name: string, locked: boolean) => stringify(configMapObject(name, locked));

const uidOf = async (name: string) =>
  (await kubectlOk(kubectl, ['get', 'cm', name, '-n', ns, '-o', 'jsonpath={.metadata.uid}'])).trim();

const lockedByOf = async (uid: string) => ((await sealed(uid)).spec as unknown as { lockedBy?: LockedBy }).lockedBy;

const records = async () =>
  JSON.parse(await kubectlOk(kubectl, ['get', 'lockattributions', '-n', BULWARK_NAMESPACE, '-o', 'json'])).items as {
    metadata: { name: string };
    spec: { user: string; target: { name: string; namespace?: string } };
  }[];

/**
 * A record in Bulwark's format but made without its key, claiming `user` locked `name`: right in
 * everything (the content hash too, which anyone can compute) but the MAC.
 */
const forgedRecord = (namespace: string, name: string, user: string) =>
  stringify({
    apiVersion: 'bulwark.dev/v1alpha1',
    kind: 'LockAttribution',
    metadata: { name: `forged-${name}`, namespace },
    spec: {
      requestUid: `forged-${name}`,
      operation: 'CREATE',
      user,
      groups: ['policy-admins', 'system:authenticated'],
      // Newer than any genuine record: the newest wins, were it believed.
      at: new Date(Date.now() + 30_000).toISOString(),
      target: { group: '', version: 'v1', kind: 'ConfigMap', namespace: ns, name },
      label: { key: LOCK_LABEL.key, value: LOCK_LABEL.value },
      hash: contentHash(configMapObject(name, true)),
      attestation: { keyId: '20261129T000000Z-abcdef', mac: Buffer.alloc(32, 1).toString('base64') },
    },
  });

beforeAll(async () => {
  ns = await newNamespace('lockedby');
});

afterAll(async () => {
  await kubectl(['delete', 'lockattributions', '--all', '-n', BULWARK_NAMESPACE]);
});

describe('who locked it', () => {
  it('a lock made with kubectl create is sealed with its author, and status shows it', async () => {
    await kubectlOk(kubectl, ['create', '-f', '-'], { input: configMap('by-alice', true), user: 'alice' });
    const lockedBy = await lockedByOf(await uidOf('by-alice'));
    expect(lockedBy).toMatchObject({ user: 'alice', requestUid: expect.any(String) });
    expect(lockedBy?.groups).toEqual(expect.arrayContaining(['dev', 'approvers']));
    // The record is consumed by the seal.
    expect((await records()).some((r) => r.spec.target.name === 'by-alice' && r.spec.target.namespace === ns)).toBe(
      false,
    );
    expect(await pluginOk(['status', '-n', ns], 'dave')).toContain(`  ConfigMap ${ns}/by-alice, locked by alice at `);
  });

  it('a lock added by a label update names whoever added it', async () => {
    await kubectlOk(kubectl, ['create', '-f', '-'], { input: configMap('relabelled', false), user: 'alice' });
    await kubectlOk(kubectl, ['label', 'cm', 'relabelled', '-n', ns, `${LOCK_LABEL.key}=${LOCK_LABEL.value}`], {
      user: 'bob',
    });
    expect(await lockedByOf(await uidOf('relabelled'))).toMatchObject({ user: 'bob' });
  });

  it('a dry run records nothing', async () => {
    await kubectlOk(kubectl, ['create', '--dry-run=server', '-f', '-'], {
      input: configMap('dry', true),
      user: 'alice',
    });
    expect((await records()).some((r) => r.spec.target.name === 'dry')).toBe(false);
  });

  it('a record forged by a user never names anybody, even when newer than the genuine one', async () => {
    await kubectlOk(kubectl, ['create', '-f', '-'], {
      input: forgedRecord(BULWARK_NAMESPACE, 'forged-over', 'admin'),
      user: 'dave',
    });
    await kubectlOk(kubectl, ['create', '-f', '-'], { input: configMap('forged-over', true), user: 'dave' });
    expect(await lockedByOf(await uidOf('forged-over'))).toMatchObject({ user: 'dave' });
  });

  it('a lock made while Bulwark was away is sealed as unknown, with why and the client', async () => {
    await kubectlOk(kubectl, ['create', '-f', '-'], {
      input: forgedRecord(BULWARK_NAMESPACE, 'while-away', 'admin'),
      user: 'dave',
    });
    await whileWebhookIsAway(
      async () =>
        (await kubectl(['create', '-f', '-'], { input: configMap('while-away', true), user: 'dave' })).code === 0,
    );
    const lockedBy = await lockedByOf(await uidOf('while-away'));
    expect(lockedBy).toMatchObject({ user: 'unknown', fieldManager: 'kubectl-create' });
    expect(lockedBy?.why).toContain("1 record(s) naming this object are not Bulwark's (forged or altered)");
    expect(lockedBy?.why).toContain('it was locked while Bulwark was away');
    expect(await pluginOk(['status', '-n', ns], 'dave')).toContain(
      `  ConfigMap ${ns}/while-away, locked by unknown (label set by client kubectl-create)`,
    );
  });

  it("in the chart's release namespace, the self-protection policy refuses a user's record", async () => {
    await kubectl(['create', 'namespace', SELF_PROTECTION_NAMESPACE]);
    const r = await kubectl(['create', '-f', '-'], {
      input: forgedRecord(SELF_PROTECTION_NAMESPACE, 'refused', 'admin'),
      user: 'alice',
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(SELF_PROTECTION_DENIAL);
  });
});
