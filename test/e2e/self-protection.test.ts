// Issue 10, finding 4: the admission configuration is guarded by default. The harness runs
// with the chart's self-protection policy (cluster/self-protection.ts), as every install
// does; the chart's own release is tested in helm.test.ts. Here: what it refuses to whom,
// that Bulwark still checks policy authorship itself when the policy is away, and what it
// cannot guard (admission policies and their bindings), as the README says.

import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, WEBHOOK_CONFIGURATION, type KubectlResult } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import {
  installSelfProtection,
  probeSelfProtection,
  SELF_PROTECTION,
  SELF_PROTECTION_DENIAL,
} from '../../harness/self-protection.ts';
import { until } from './helpers/plugin.ts';
import { deniedWith } from './helpers/denied.ts';

const dryRun = '--dry-run=server';
const weaken = (op: unknown, user: 'alice' | 'erin') =>
  kubectl(
    [
      'patch',
      'validatingwebhookconfiguration',
      WEBHOOK_CONFIGURATION,
      '--type=json',
      '-p',
      JSON.stringify([op]),
      dryRun,
    ],
    { user },
  );
const refused = (r: KubectlResult) => r.code !== 0 && r.stderr.includes(SELF_PROTECTION_DENIAL);

describe('the harness runs with the chart`s self-protection', () => {
  it(
    'alice, whom RBAC lets write anything, cannot delete or weaken the webhook configuration, nor touch the ' +
      'bulwark.dev CRDs',
    async () => {
      const attempts = await Promise.all([
        probeSelfProtection(kubectl),
        weaken({ op: 'replace', path: '/webhooks/0/failurePolicy', value: 'Ignore' }, 'alice'),
        weaken({ op: 'replace', path: '/webhooks/0/rules/0/operations', value: ['CREATE'] }, 'alice'),
        weaken(
          { op: 'add', path: '/webhooks/0/namespaceSelector/matchExpressions/0/values/-', value: 'prod' },
          'alice',
        ),
        weaken(
          { op: 'replace', path: '/webhooks/0/clientConfig/caBundle', value: Buffer.from('mine').toString('base64') },
          'alice',
        ),
        kubectl(['delete', 'crd', 'unlockrequests.bulwark.dev', dryRun], { user: 'alice' }),
        kubectl(['annotate', 'crd', 'imagepolicies.bulwark.dev', 'owner=alice', dryRun], { user: 'alice' }),
      ]);
      for (const r of attempts) {
        expect(refused(r), r.stderr || 'allowed').toBe(true);
        expect(r.stderr).toContain('only the policy admins (group system:masters, group policy-admins) may');
        expect(r.stderr).toContain('whatever RBAC allows; alice is not one of them');
      }
      expect(attempts[1]?.stderr).toContain(`may change ValidatingWebhookConfiguration ${WEBHOOK_CONFIGURATION}`);
      expect(attempts[5]?.stderr).toContain('may delete CustomResourceDefinition unlockrequests.bulwark.dev');
    },
  );

  it(
    'the policy admins Bulwark is configured with (erin: policy-admins, no cluster admin) may; one list ' +
      'decides both',
    async () => {
      const byErin = await weaken({ op: 'replace', path: '/webhooks/0/timeoutSeconds', value: 12 }, 'erin');
      expect(byErin.code, byErin.stderr).toBe(0);
      const erinDeletes = await kubectl(['delete', 'validatingwebhookconfiguration', WEBHOOK_CONFIGURATION, dryRun], {
        user: 'erin',
      });
      expect(erinDeletes.code, erinDeletes.stderr).toBe(0);
    },
  );
});

describe('what self-protection cannot guard, and what still holds then', () => {
  const policy = (name: string) =>
    stringify({
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'ImmutabilityPolicy',
      metadata: { name },
      spec: { exemptSubjects: { users: ['alice'] } },
    });
  let bindingAway = false;

  afterAll(async () => {
    // Put the binding back, whatever happened; this waits until it is in force again.
    if (bindingAway) await installSelfProtection(kubectl);
  });

  it(
    'its binding is exempt from all admission policies: alice (RBAC on admissionregistration.k8s.io) may ' +
      'delete it',
    async () => {
      const r = await kubectl(['delete', 'validatingadmissionpolicybinding', SELF_PROTECTION, dryRun], {
        user: 'alice',
      });
      expect(r.code, r.stderr).toBe(0);
      const policyItself = await kubectl(['delete', 'validatingadmissionpolicy', SELF_PROTECTION, dryRun], {
        user: 'alice',
      });
      expect(policyItself.code, policyItself.stderr).toBe(0);
    },
  );

  it(
    'a MutatingAdmissionPolicy of alice`s rewrites an admin`s next change of the webhook configuration ' +
      '(mutation runs before validation)',
    async () => {
      const name = 'e2e-rewrite-admin-changes';
      await kubectlOk(kubectl, ['apply', '-f', '-'], {
        user: 'alice',
        input: [
          {
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'MutatingAdmissionPolicy',
            metadata: { name },
            spec: {
              failurePolicy: 'Ignore',
              reinvocationPolicy: 'Never',
              matchConstraints: {
                resourceRules: [
                  {
                    apiGroups: ['admissionregistration.k8s.io'],
                    apiVersions: ['*'],
                    resources: ['validatingwebhookconfigurations'],
                    resourceNames: [WEBHOOK_CONFIGURATION],
                    operations: ['UPDATE'],
                  },
                ],
              },
              mutations: [
                {
                  patchType: 'JSONPatch',
                  jsonPatch: {
                    expression: '[JSONPatch{op: "replace", path: "/webhooks/0/failurePolicy", value: "Ignore"}]',
                  },
                },
              ],
            },
          },
          {
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'MutatingAdmissionPolicyBinding',
            metadata: { name },
            spec: { policyName: name },
          },
        ]
          .map((o) => stringify(o))
          .join('---\n'),
      });
      try {
        // The admin only annotates (a dry run, so nothing is stored); what would be stored says Ignore.
        const outcome = async () =>
          JSON.parse(
            await kubectlOk(kubectl, [
              'annotate',
              'validatingwebhookconfiguration',
              WEBHOOK_CONFIGURATION,
              '--overwrite',
              'note=admin',
              dryRun,
              '-o',
              'json',
            ]),
          ).webhooks[0].failurePolicy as string;
        await until(async () => (await outcome()) === 'Ignore', 20_000);
        // Alice herself still cannot: the result of her own change is validated.
        expect(
          refused(await weaken({ op: 'add', path: '/metadata/annotations', value: { note: 'alice' } }, 'alice')),
        ).toBe(true);
      } finally {
        await kubectl(['delete', 'mutatingadmissionpolicybinding,mutatingadmissionpolicy', name]);
      }
    },
  );

  it(
    'with the binding away, Bulwark still refuses alice`s policy (it checks authorship itself); restored, the ' +
      'policy refuses first',
    async () => {
      const create = () =>
        kubectl(['create', '-f', '-', dryRun], { user: 'alice', input: policy('alice-exempts-herself') });
      expect(refused(await create())).toBe(true);
      bindingAway = true;
      await kubectlOk(kubectl, ['delete', 'validatingadmissionpolicybinding', SELF_PROTECTION]);
      await until(async () => !refused(await probeSelfProtection(kubectl)), 20_000);
      const byBulwark = await create();
      expect(byBulwark.code).not.toBe(0);
      expect(byBulwark.stderr).toMatch(
        deniedWith(
          ': only the policy admins (group system:masters, group policy-admins) may create ' +
            'ImmutabilityPolicy alice-exempts-herself',
        ),
      );
      await installSelfProtection(kubectl);
      bindingAway = false;
      expect(refused(await create())).toBe(true);
    },
  );
});
