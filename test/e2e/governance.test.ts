// The indirect ways around a lock (issue 10), as an attacker with ordinary RBAC tried
// them against the real apiserver, and the agreement that now stands in the way:
// finding 2 (writing policies), 1 (relabelling namespaces), 11 (break-glass beside a
// namespaceSelector policy), 13 (forged and stale approvals), 15 (a short unlock made
// permanent). alice, bob and carol are approvers, dave a developer, erin and frank policy
// admins (group policy-admins), admin a cluster admin; all of them may write bulwark.dev
// objects as far as RBAC is concerned.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, LOCK_LABEL, newNamespace, type UserName } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { SELF_PROTECTION_DENIAL } from '../../harness/self-protection.ts';
import { IMAGE, LOCK_LABEL_JSONPATH } from './helpers/immutability.ts';
import { plugin, pluginOk, requestUnlock, until } from './helpers/plugin.ts';
import { retryUntil } from './helpers/retry.ts';
import { whileWebhookIsAway } from './helpers/webhook-away.ts';

const id = randomBytes(3).toString('hex');
const LOOSENS = 'would loosen the protection of locked objects or verified images';

const policy = (kind: 'ImmutabilityPolicy' | 'ImagePolicy', name: string, spec: Record<string, unknown>) =>
  stringify({ apiVersion: 'bulwark.dev/v1alpha1', kind, metadata: { name }, spec });
const applyAs = (user: UserName, manifest: string) => kubectl(['apply', '-f', '-'], { user, input: manifest });
const lockedConfigMap = (ns: string, name = 'cfg') =>
  stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
    data: { color: 'blue' },
  });
const setColor = (ns: string, color: string, user: UserName = 'alice', extra: string[] = []) =>
  kubectl(['patch', 'cm', 'cfg', '-n', ns, '-p', JSON.stringify({ data: { color } }), ...extra], { user });
const probe = (ns: string) => setColor(ns, `probe-${Date.now()}`, 'alice', ['--dry-run=server']);

/** A namespace holding a locked ConfigMap `cfg`, with `spec`'s ImmutabilityPolicy in force for it (created first). */
async function lockedUnder(prefix: string, spec: Record<string, unknown>): Promise<{ ns: string; policyName: string }> {
  const ns = await newNamespace(prefix);
  const policyName = `${prefix}-${ns}`;
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: policy('ImmutabilityPolicy', policyName, {
      match: { namespaces: [ns] },
      message: `Governed by ${policyName}.`,
      ...spec,
    }),
  });
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: lockedConfigMap(ns) });
  await until(async () => (await probe(ns)).stderr.includes(`Governed by ${policyName}.`));
  return { ns, policyName };
}

const APPROVERS = { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h' };

describe('writing policies (finding 2)', () => {
  it(
    'alice, whom RBAC lets write bulwark.dev, cannot create a policy exempting herself; her ConfigMap stays ' +
      'locked',
    async () => {
      const ns = await newNamespace('gov-author');
      await kubectlOk(kubectl, ['apply', '-f', '-'], { input: lockedConfigMap(ns) });
      const r = await applyAs(
        'alice',
        policy('ImmutabilityPolicy', `alice-free-${ns}`, {
          match: { namespaces: [ns] },
          exemptSubjects: { users: ['alice'] },
        }),
      );
      expect(r.code).not.toBe(0);
      // The chart's self-protection (an admission policy, evaluated before webhooks) refuses it
      // first; Bulwark refuses it too when that is away (self-protection.test.ts).
      expect(r.stderr).toContain(SELF_PROTECTION_DENIAL);
      expect(r.stderr).toContain(
        `only the policy admins (group system:masters, group policy-admins) may create ImmutabilityPolicy ` +
          `alice-free-${ns}, whatever RBAC allows; alice is not one of them`,
      );
      expect((await kubectl(['get', 'immutabilitypolicy', `alice-free-${ns}`])).stderr).toContain('NotFound');
      const edit = await setColor(ns, 'red');
      expect(edit.code).not.toBe(0);
      expect(edit.stderr).toContain(`ConfigMap ${ns}/cfg is locked`);
    },
  );

  it(
    'a policy admin switching a policy that governs a locked ConfigMap to Audit is denied, naming it; approved ' +
      'by two other admins it goes through',
    async () => {
      const { ns, policyName } = await lockedUnder('gov-audit', { unlock: APPROVERS });
      const audit = policy('ImmutabilityPolicy', policyName, {
        match: { namespaces: [ns] },
        enforcement: 'Audit',
        unlock: APPROVERS,
      });
      const denied = await applyAs('erin', audit);
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toContain(
        `ImmutabilityPolicy ${policyName}: this change ${LOOSENS} (ConfigMap ${ns}/cfg: ` +
          `ImmutabilityPolicy ${policyName} would switch to Audit). A change that loosens protection needs an ` +
          `approved UnlockRequest for ImmutabilityPolicy ${policyName}`,
      );
      expect((await setColor(ns, 'red')).code).not.toBe(0);

      const name = await requestUnlock(
        [`immutabilitypolicy/${policyName}`, '--reason', 'audit only during the migration', '--duration', '30m'],
        'erin',
      );
      const self = await plugin(['unlock', 'approve', name], 'erin');
      expect(self.stderr).toContain('erin requested this unlock and cannot approve it');
      await pluginOk(['unlock', 'approve', name], 'frank');
      await pluginOk(['unlock', 'approve', name], 'admin');
      const allowed = await retryUntil(
        () => applyAs('erin', audit),
        (r) => r.code === 0,
        { timeoutMs: 10_000, intervalMs: 100 },
      );
      expect(allowed.stderr).toContain(
        `UnlockRequest ${name} (requested by erin, approved by frank, admin) allows it until`,
      );
      await until(async () => (await probe(ns)).code === 0);
    },
  );

  it('deleting an enforcing ImagePolicy needs the same agreement', async () => {
    const ns = await newNamespace('gov-imgdel');
    const name = `digests-${ns}`;
    await kubectlOk(kubectl, ['apply', '-f', '-'], {
      input: policy('ImagePolicy', name, {
        images: ['**'],
        match: { namespaces: [ns] },
        authorities: [{ name: 'approved', digests: [IMAGE.split('@')[1]] }],
      }),
    });
    const r = await kubectl(['delete', 'imagepolicy', name]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `ImagePolicy ${name}: this deletion ${LOOSENS} (ImagePolicy ${name} would no longer verify any image)`,
    );
  });
});

describe('relabelling a namespace (finding 1)', () => {
  const prod = `prod-${id}`;
  const dev = `dev-${id}`;

  async function prodNamespace(): Promise<string> {
    await kubectlOk(kubectl, ['apply', '-f', '-'], {
      input: [
        policy('ImmutabilityPolicy', `gov-prod-${id}`, {
          match: { namespaceSelector: { matchLabels: { 'bulwark-e2e/env': prod } } },
          message: 'Production lock.',
        }),
        policy('ImmutabilityPolicy', `gov-dev-audit-${id}`, {
          match: { namespaceSelector: { matchLabels: { 'bulwark-e2e/env': dev } } },
          enforcement: 'Audit',
        }),
      ].join('---\n'),
    });
    const ns = await newNamespace('gov-relabel');
    await kubectlOk(kubectl, ['label', 'namespace', ns, `bulwark-e2e/env=${prod}`]);
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: lockedConfigMap(ns) });
    await until(async () => (await probe(ns)).stderr.includes('Production lock.'));
    return ns;
  }

  it(
    'alice moving a locked ConfigMap from env=prod to env=dev (Audit) is denied, naming what it would ' + 'expose',
    async () => {
      const ns = await prodNamespace();
      const r = await kubectl(['label', '--overwrite', 'namespace', ns, `bulwark-e2e/env=${dev}`], { user: 'alice' });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(
        `Namespace ${ns}: this change ${LOOSENS} (ConfigMap ${ns}/cfg: ImmutabilityPolicy gov-prod-${id} would no ` +
          `longer govern it; in its place ImmutabilityPolicy gov-dev-audit-${id} would switch to Audit)`,
      );
      // The apiserver keeps label changes made through the status and finalize subresources too.
      const viaStatus = await kubectl(
        [
          'patch',
          'namespace',
          ns,
          '--subresource=status',
          '--type=merge',
          '-p',
          JSON.stringify({ metadata: { labels: { 'bulwark-e2e/env': dev } } }),
        ],
        { user: 'alice' },
      );
      expect(viaStatus.stderr).toContain(`Namespace ${ns}: this change ${LOOSENS}`);
      // Read and replaced whole: Bulwark's audit may mark the namespace in between (409), so retry that.
      let viaFinalize = { code: 1, stdout: '', stderr: 'Conflict' };
      for (let attempt = 0; attempt < 5 && viaFinalize.stderr.includes('Conflict'); attempt++) {
        const object = JSON.parse(await kubectlOk(kubectl, ['get', 'namespace', ns, '-o', 'json']));
        object.metadata.labels['bulwark-e2e/env'] = dev;
        viaFinalize = await kubectl(['replace', '--raw', `/api/v1/namespaces/${ns}/finalize`, '-f', '-'], {
          user: 'alice',
          input: JSON.stringify(object),
        });
      }
      expect(viaFinalize.stderr).toContain(`Namespace ${ns}: this change ${LOOSENS}`);
      expect(
        await kubectlOk(kubectl, ['get', 'namespace', ns, '-o', 'jsonpath={.metadata.labels.bulwark-e2e/env}']),
      ).toBe(prod);
      expect((await setColor(ns, 'red')).stderr).toContain('Production lock.');
    },
  );

  it('approved by two policy admins (an UnlockRequest for the Namespace), the relabelling goes through', async () => {
    const ns = await prodNamespace();
    const name = await requestUnlock([`namespace/${ns}`, '--reason', 'retire to dev'], 'alice');
    const notAdmin = await plugin(['unlock', 'approve', name], 'bob');
    expect(notAdmin.stderr).toContain(
      'bob is not in an approver group of the policy admins (system:masters, policy-admins)',
    );
    await pluginOk(['unlock', 'approve', name], 'erin');
    await pluginOk(['unlock', 'approve', name], 'frank');
    const r = await retryUntil(
      () => kubectl(['label', '--overwrite', 'namespace', ns, `bulwark-e2e/env=${dev}`], { user: 'alice' }),
      (result) => result.code === 0,
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(r.stderr).toContain(`UnlockRequest ${name} (requested by alice, approved by erin, frank) allows it until`);
  });

  it('removing the label an ImagePolicy selects on is denied, and the unsigned image stays out', async () => {
    const ns = await newNamespace('gov-img');
    const team = `shop-${id}`;
    await kubectlOk(kubectl, ['label', 'namespace', ns, `bulwark-e2e/team=${team}`]);
    await kubectlOk(kubectl, ['apply', '-f', '-'], {
      input: policy('ImagePolicy', `gov-img-${id}`, {
        images: ['**'],
        match: { namespaceSelector: { matchLabels: { 'bulwark-e2e/team': team } } },
        authorities: [{ name: 'approved', digests: [IMAGE.split('@')[1]] }],
      }),
    });
    const unsigned = `registry.local/evil@sha256:${'e'.repeat(64)}`;
    const run = () => kubectl(['run', `evil-${Date.now()}`, '-n', ns, `--image=${unsigned}`], { user: 'alice' });
    await until(async () => (await run()).stderr.includes('is not on an approved-digest list'));
    const r = await kubectl(['label', 'namespace', ns, 'bulwark-e2e/team-'], { user: 'alice' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `Namespace ${ns}: this change ${LOOSENS} (images: ImagePolicy gov-img-${id} would no longer apply to ` +
        `namespace ${ns})`,
    );
    expect((await run()).stderr).toContain('is not on an approved-digest list');
  });

  it('relabelling that loosens nothing is allowed: an unrelated label, or an empty namespace', async () => {
    const ns = await prodNamespace();
    const unrelated = await kubectl(['label', 'namespace', ns, 'owner=web'], { user: 'alice' });
    expect(unrelated.code, unrelated.stderr).toBe(0);
    const empty = await newNamespace('gov-empty');
    await kubectlOk(kubectl, ['label', 'namespace', empty, `bulwark-e2e/env=${prod}`]);
    const moved = await kubectl(['label', '--overwrite', 'namespace', empty, `bulwark-e2e/env=${dev}`], {
      user: 'alice',
    });
    expect(moved.code, moved.stderr).toBe(0);
  });
});

describe('break-glass beside a namespaceSelector policy (finding 11)', () => {
  it(
    'an UnlockRequest for an object that policy does not govern is accepted; one it governs follows its ' +
      'approver groups',
    async () => {
      const selected = `sel-${id}`;
      await kubectlOk(kubectl, ['apply', '-f', '-'], {
        input: policy('ImmutabilityPolicy', `gov-selector-${id}`, {
          match: { namespaceSelector: { matchLabels: { 'bulwark-e2e/selected': selected } } },
          unlock: { approverGroups: [`leads-${id}`] },
        }),
      });
      const { ns } = await lockedUnder('gov-other', { unlock: APPROVERS });
      const elsewhere = await plugin(
        ['unlock', 'request', 'cm/cfg', '-n', ns, '--reason', 'not governed by the selector policy'],
        'alice',
      );
      expect(elsewhere.code, elsewhere.stderr).toBe(0);

      const inside = await newNamespace('gov-selected');
      await kubectlOk(kubectl, ['label', 'namespace', inside, `bulwark-e2e/selected=${selected}`]);
      await kubectlOk(kubectl, ['apply', '-f', '-'], { input: lockedConfigMap(inside) });
      let name = '';
      await until(async () => {
        const r = await plugin(['unlock', 'request', 'cm/cfg', '-n', inside, '--reason', 'governed by it'], 'alice');
        name = /unlockrequest\/(\S+) created/.exec(r.stdout)?.[1] ?? '';
        return r.code === 0;
      });
      const bob = await plugin(['unlock', 'approve', name], 'bob');
      expect(bob.stderr).toContain(
        `bob is not in an approver group of ImmutabilityPolicy gov-selector-${id} (leads-${id})`,
      );
    },
  );
});

describe('forged and stale approvals (finding 13)', () => {
  it('an UnlockRequest stored with approvals while the webhook was away unlocks nothing', async () => {
    const ns = await newNamespace('gov-forged');
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: lockedConfigMap(ns) });
    const forged = (name: string, duration: string, groups?: string[]) =>
      stringify({
        apiVersion: 'bulwark.dev/v1alpha1',
        kind: 'UnlockRequest',
        metadata: { name },
        spec: {
          target: { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cfg' },
          operations: ['UPDATE'],
          reason: 'forged',
          duration,
          requester: 'alice',
          approvals: [
            { user: 'bob', ...(groups ? { groups } : {}) },
            { user: 'carol', ...(groups ? { groups } : {}) },
          ],
        },
      });
    // As reported: a year long, approvals by bob and carol. And a shorter one whose forged approvals claim groups too.
    const year = forged(`forged-year-${ns}`, '8760h');
    const short = forged(`forged-short-${ns}`, '30m', ['dev', 'approvers', 'system:authenticated']);
    const manifests = `${year}---\n${short}`;
    await whileWebhookIsAway(
      async () =>
        (await kubectl(['apply', '--validate=false', '-f', '-'], { user: 'alice', input: manifests })).code === 0,
    );
    const r = await setColor(ns, 'red');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `UnlockRequest forged-year-${ns}: it lasts 8760h, longer than the 1h ImmutabilityPolicy builtin-default allows`,
    );
    expect(r.stderr).toContain(
      // Never admitted by Bulwark, so never attested (issue 14): that alone makes them not count.
      `UnlockRequest forged-short-${ns}: it has 0 of the 2 approvals it needs (bob's approval was not admitted ` +
        `by Bulwark (it carries no attestation by Bulwark`,
    );
  });

  it('approvals given under P1 stop counting once a stricter P2 governs the object too', async () => {
    const { ns } = await lockedUnder('gov-p1', { unlock: APPROVERS });
    const name = await requestUnlock(['cm/cfg', '-n', ns, '--reason', 'rotate'], 'alice');
    await pluginOk(['unlock', 'approve', name], 'bob');
    await pluginOk(['unlock', 'approve', name], 'carol');
    await until(async () => (await probe(ns)).code === 0);
    // Adding a policy never loosens (every governing policy must allow): no agreement needed.
    await kubectlOk(kubectl, ['apply', '-f', '-'], {
      input: policy('ImmutabilityPolicy', `gov-p2-${ns}`, {
        match: { namespaces: [ns] },
        unlock: { approverGroups: [`leads-${id}`] },
      }),
    });
    await until(async () =>
      (await probe(ns)).stderr.includes(
        `bob is not in an approver group of ImmutabilityPolicy gov-p2-${ns} (leads-${id}) now`,
      ),
    );
    expect((await setColor(ns, 'red')).code).not.toBe(0);
  });
});

describe('a short unlock does not become a permanent one (finding 15)', () => {
  it(
    'a one-minute UPDATE unlock cannot remove the lock label, so once it is gone nobody can delete the ' + 'object',
    async () => {
      const { ns } = await lockedUnder('gov-unlabel', { unlock: APPROVERS });
      const name = await requestUnlock(
        ['cm/cfg', '-n', ns, '--reason', 'quick fix', '--operation', 'UPDATE', '--duration', '1m'],
        'alice',
      );
      await pluginOk(['unlock', 'approve', name], 'bob');
      await pluginOk(['unlock', 'approve', name], 'carol');
      await until(async () => (await probe(ns)).code === 0);
      const unlabel = await kubectl(['label', 'cm', 'cfg', '-n', ns, `${LOCK_LABEL.key}-`], { user: 'alice' });
      expect(unlabel.code).not.toBe(0);
      expect(unlabel.stderr).toContain(
        `UnlockRequest ${name}: it does not unlock Unlabel: removing or changing the lock label needs an ` +
          `UnlockRequest with operation Unlabel`,
      );
      await kubectlOk(kubectl, ['delete', 'unlockrequest', name], { user: 'alice' });
      const del = await kubectl(['delete', 'cm', 'cfg', '-n', ns], { user: 'dave' });
      expect(del.code).not.toBe(0);
      expect(del.stderr).toContain(
        `ConfigMap ${ns}/cfg is locked (labelled ${LOCK_LABEL.key}=${LOCK_LABEL.value}) and cannot be deleted`,
      );
    },
  );

  it('an Unlabel unlock lifts the lock, and says so', async () => {
    const { ns } = await lockedUnder('gov-unlabel', { unlock: APPROVERS });
    const name = await requestUnlock(
      ['cm/cfg', '-n', ns, '--reason', 'retire the lock', '--operation', 'unlabel', '--duration', '10m'],
      'alice',
    );
    await pluginOk(['unlock', 'approve', name], 'bob');
    await pluginOk(['unlock', 'approve', name], 'carol');
    const r = await retryUntil(
      () => kubectl(['label', 'cm', 'cfg', '-n', ns, `${LOCK_LABEL.key}-`], { user: 'alice' }),
      (result) => result.code === 0,
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(r.stderr).toContain(`ConfigMap ${ns}/cfg is unlabelled by UnlockRequest ${name} and no longer locked`);
    expect(await kubectlOk(kubectl, ['get', 'cm', 'cfg', '-n', ns, '-o', `jsonpath=${LOCK_LABEL_JSONPATH}`])).toBe('');
  });
});
