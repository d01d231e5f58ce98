// Self-protection: a ValidatingAdmissionPolicy guarding what webhooks cannot guard (their
// own configuration, Bulwark's namespace) and Bulwark's CRDs and policies. The CEL is
// exercised against a real apiserver in test/e2e/helm.test.ts and
// test/e2e/self-protection.test.ts; here, its shape.

import { describe, expect, it } from 'vitest';
import { dig, find, kinds, render, type Manifest } from './helm.ts';

type Rule = { apiGroups: string[]; resources: string[]; resourceNames?: string[]; operations: string[] };

const rules = (policy: Manifest) => dig(policy, 'spec', 'matchConstraints', 'resourceRules') as Rule[];
const variables = (policy: Manifest) =>
  Object.fromEntries(
    (dig(policy, 'spec', 'variables') as { name: string; expression: string }[]).map((v) => [v.name, v.expression]),
  );
/** Every guarded resource as group/resource, with the operations guarded. */
const guarded = (policy: Manifest) =>
  Object.fromEntries(
    rules(policy).flatMap((r) => r.resources.map((res) => [`${r.apiGroups[0]}/${res}`, r.operations.join(',')])),
  );

describe('selfProtection', () => {
  it('is on by default; turning it off leaves no policy', async () => {
    expect(kinds(await render())).toEqual(
      expect.arrayContaining(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']),
    );
    // What stays is the namespace marks' guard (namespace-marks.test.ts).
    const names = (await render({ selfProtection: { enabled: false } }))
      .filter((m) => m.kind.startsWith('ValidatingAdmissionPolicy'))
      .map((m) => m.metadata.name);
    expect(names).toEqual(['bulwark-namespace-marks', 'bulwark-namespace-marks']);
  });

  it(
    'guards the webhook configuration, the bulwark.dev CRDs and policies, Bulwark`s ClusterRole and namespace ' +
      'by name',
    async () => {
      const policy = find(await render(), 'ValidatingAdmissionPolicy', 'bulwark-self-protection');
      expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
      expect(dig(policy, 'spec', 'failurePolicy')).toBe('Fail');
      const named = Object.fromEntries(
        rules(policy)
          .filter((r) => r.resourceNames)
          .map((r) => [r.resources.join(','), r.resourceNames]),
      );
      expect(named).toEqual({
        validatingwebhookconfigurations: ['bulwark'],
        'clusterroles,clusterrolebindings': ['bulwark'],
        namespaces: ['bulwark-system'],
      });
      expect(guarded(policy)).toMatchObject({
        'admissionregistration.k8s.io/validatingwebhookconfigurations': 'UPDATE,DELETE',
        'apiextensions.k8s.io/customresourcedefinitions': 'CREATE,UPDATE,DELETE',
        'bulwark.dev/immutabilitypolicies': 'CREATE,UPDATE,DELETE',
        'bulwark.dev/imagepolicies': 'CREATE,UPDATE,DELETE',
        '/namespaces': 'DELETE',
      });
      expect(dig(policy, 'spec', 'matchConditions', 0, 'expression')).toContain('spec.group == "bulwark.dev"');
    },
  );

  it(
    'guards, in the release namespace only, whatever runs as Bulwark, holds its keys or routes calls to ' + 'it',
    async () => {
      const policy = find(await render(), 'ValidatingAdmissionPolicy', 'bulwark-self-protection');
      expect(dig(policy, 'spec', 'matchConstraints', 'namespaceSelector')).toEqual({
        matchLabels: { 'kubernetes.io/metadata.name': 'bulwark-system' },
      });
      const all = 'CREATE,UPDATE,DELETE';
      expect(guarded(policy)).toMatchObject({
        '/pods': all,
        '/services': all,
        '/endpoints': all,
        '/serviceaccounts': all,
        '/secrets': all,
        '/replicationcontrollers': all,
        'apps/deployments': all,
        'apps/replicasets': all,
        'apps/statefulsets': all,
        'apps/daemonsets': all,
        'batch/jobs': all,
        'batch/cronjobs': all,
        'policy/poddisruptionbudgets': all,
        'rbac.authorization.k8s.io/roles': all,
        'rbac.authorization.k8s.io/rolebindings': all,
        'discovery.k8s.io/endpointslices': all,
        'networking.k8s.io/networkpolicies': all,
        '/pods/exec': 'CREATE,UPDATE,CONNECT',
        '/pods/attach': 'CREATE,UPDATE,CONNECT',
        '/pods/portforward': 'CREATE,UPDATE,CONNECT',
        '/pods/ephemeralcontainers': 'CREATE,UPDATE,CONNECT',
        '/serviceaccounts/token': 'CREATE,UPDATE,CONNECT',
        'apps/deployments/scale': 'UPDATE',
        '/replicationcontrollers/scale': 'CREATE,UPDATE,CONNECT',
      });
      const components = variables(policy).byClusterComponent;
      expect(components).toContain('request.namespace == "bulwark-system"');
      expect(components).toContain(
        'request.userInfo.username in ["system:kube-controller-manager","system:kube-scheduler"]',
      );
      expect(components).toContain(
        '["kube-system"].exists(ns, request.userInfo.username.startsWith("system:serviceaccount:" + ns + ":"))',
      );
      expect(components).toContain('g in ["system:nodes"]');
      const openshift = find(
        await render({
          selfProtection: { clusterComponents: { serviceAccountNamespaces: ['kube-system', 'openshift-infra'] } },
        }),
        'ValidatingAdmissionPolicy',
        'bulwark-self-protection',
      );
      expect(variables(openshift).byClusterComponent).toContain('["kube-system","openshift-infra"].exists(');
    },
  );

  it('takes its admins from policyAdmins, the list Bulwark itself uses, and names them in its denial', async () => {
    const values = {
      policyAdmins: {
        groups: ['platform-admins'],
        users: ['root@example.com'],
        serviceAccounts: [{ namespace: 'argocd', name: 'argocd-application-controller' }],
      },
    };
    const manifests = await render(values);
    const policy = find(manifests, 'ValidatingAdmissionPolicy', 'bulwark-self-protection');
    const v = variables(policy);
    expect(JSON.parse(v.adminGroups ?? '')).toEqual(['platform-admins']);
    expect(JSON.parse(v.adminUsers ?? '')).toEqual([
      'root@example.com',
      'system:serviceaccount:argocd:argocd-application-controller',
    ]);
    expect(v.isAdmin).toContain('request.userInfo.groups.exists(g, g in variables.adminGroups)');
    expect(dig(policy, 'spec', 'validations', 0, 'expression')).toBe(
      'variables.isAdmin || variables.byClusterComponent || variables.keepsPolicySpec || ' +
        'variables.byBulwarkForItsKeys || variables.byBulwarkForAttributions',
    );
    // And its records of who locked what and what changed under unlocks: creating and deleting them, nothing else.
    expect(v.byBulwarkForAttributions).toBe(
      'request.userInfo.username == "system:serviceaccount:bulwark-system:bulwark" && ' +
        'request.resource.resource in ["lockattributions", "unlockedchanges"] && ' +
        'request.operation in ["CREATE", "DELETE"]',
    );
    expect(guarded(policy)).toMatchObject({
      'bulwark.dev/lockattributions': 'CREATE,UPDATE,DELETE',
      'bulwark.dev/unlockedchanges': 'CREATE,UPDATE,DELETE',
    });
    // Bulwark's own ServiceAccount may create its attestation keys' Secret, and nothing else there.
    expect(v.byBulwarkForItsKeys).toContain(
      'request.userInfo.username == "system:serviceaccount:bulwark-system:bulwark"',
    );
    expect(v.byBulwarkForItsKeys).toContain('request.operation == "CREATE" && request.resource.resource == "secrets"');
    expect(v.byBulwarkForItsKeys).toContain('object.metadata.name == "bulwark-attestation-keys"');
    expect(dig(policy, 'spec', 'validations', 0, 'messageExpression')).toContain(
      '"group platform-admins, user root@example.com, user system:serviceaccount:argocd:argocd-application-controller"',
    );
    const args = dig(find(manifests, 'Deployment'), 'spec', 'template', 'spec', 'containers', 0, 'args') as string[];
    expect(args).toEqual(
      expect.arrayContaining([
        '--policy-admin-groups=platform-admins',
        '--policy-admin-users=root@example.com,system:serviceaccount:argocd:argocd-application-controller',
      ]),
    );

    const binding = find(manifests, 'ValidatingAdmissionPolicyBinding', 'bulwark-self-protection');
    expect(dig(binding, 'spec')).toEqual({ policyName: 'bulwark-self-protection', validationActions: ['Deny'] });
  });

  it(
    'in certManager mode lets the CA injector change the caBundle and cert-manager issue into the namespace, ' +
      'nothing else',
    async () => {
      const policy = find(
        await render({ tls: { mode: 'certManager' } }),
        'ValidatingAdmissionPolicy',
        'bulwark-self-protection',
      );
      const v = variables(policy);
      expect(Object.keys(v)).toEqual([
        'adminUsers',
        'adminGroups',
        'isAdmin',
        'byClusterComponent',
        'byBulwarkForItsKeys',
        'byBulwarkForAttributions',
        'keepsPolicySpec',
        'byCertManager',
        'byCaInjector',
        'verb',
        'target',
      ]);
      expect(v.byCaInjector).toContain('["system:serviceaccount:cert-manager:cert-manager-cainjector"]');
      expect(v.byCertManager).toContain('["system:serviceaccount:cert-manager:cert-manager"]');
      expect(v.byCertManager).toContain(
        'request.resource.resource == "secrets" || request.resource.group == "cert-manager.io"',
      );
      expect(guarded(policy)).toMatchObject({
        'cert-manager.io/certificates': 'CREATE,UPDATE,DELETE',
        'cert-manager.io/issuers': 'CREATE,UPDATE,DELETE',
      });
      expect(dig(policy, 'spec', 'validations', 0, 'expression')).toBe(
        'variables.isAdmin || variables.byClusterComponent || variables.keepsPolicySpec || ' +
          'variables.byBulwarkForItsKeys || variables.byBulwarkForAttributions || variables.byCertManager || ' +
          'variables.byCaInjector',
      );
    },
  );

  it('names the release`s own objects', async () => {
    const policy = find(
      await render({}, { release: 'guard' }),
      'ValidatingAdmissionPolicy',
      'guard-bulwark-self-protection',
    );
    expect(policy.metadata.name).toBe('guard-bulwark-self-protection');
    expect(rules(policy)[0]?.resourceNames).toEqual(['guard-bulwark']);
  });
});
