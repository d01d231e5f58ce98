// Self-protection: a ValidatingAdmissionPolicy guarding what webhooks cannot guard (their
// own configuration) and Bulwark's CRDs. The CEL is exercised against a real apiserver
// in test/e2e/helm.test.ts; here, its shape.

import { describe, expect, it } from 'vitest';
import { dig, find, kinds, render } from './helm.ts';

describe('selfProtection', () => {
  it('is off by default', async () => {
    expect(kinds(await render())).not.toContain('ValidatingAdmissionPolicy');
  });

  it('guards UPDATE and DELETE of this release`s webhook configuration and the bulwark.dev CRDs', async () => {
    const manifests = await render({ selfProtection: { enabled: true, adminGroups: ['platform-admins'], adminUsers: ['root@example.com'] } });
    const policy = find(manifests, 'ValidatingAdmissionPolicy', 'bulwark-self-protection');
    expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
    expect(dig(policy, 'spec', 'failurePolicy')).toBe('Fail');
    expect(dig(policy, 'spec', 'matchConstraints', 'resourceRules')).toEqual([
      { apiGroups: ['admissionregistration.k8s.io'], apiVersions: ['*'], resources: ['validatingwebhookconfigurations'], resourceNames: ['bulwark'], operations: ['UPDATE', 'DELETE'] },
      { apiGroups: ['apiextensions.k8s.io'], apiVersions: ['*'], resources: ['customresourcedefinitions'], operations: ['UPDATE', 'DELETE'] },
    ]);
    expect(dig(policy, 'spec', 'matchConditions', 0, 'expression')).toContain('oldObject.spec.group == "bulwark.dev"');
    const variables = Object.fromEntries((dig(policy, 'spec', 'variables') as { name: string; expression: string }[]).map((v) => [v.name, v.expression]));
    expect(JSON.parse(variables.adminGroups ?? '')).toEqual(['platform-admins']);
    expect(JSON.parse(variables.adminUsers ?? '')).toEqual(['root@example.com']);
    expect(variables.isAdmin).toContain('request.userInfo.groups.exists(g, g in variables.adminGroups)');
    expect(dig(policy, 'spec', 'validations', 0, 'expression')).toBe('variables.isAdmin');

    const binding = find(manifests, 'ValidatingAdmissionPolicyBinding', 'bulwark-self-protection');
    expect(dig(binding, 'spec')).toEqual({ policyName: 'bulwark-self-protection', validationActions: ['Deny'] });
  });

  it('lets cert-manager`s CA injector change the caBundle, and nothing else, in certManager mode', async () => {
    const policy = find(await render({ tls: { mode: 'certManager' }, selfProtection: { enabled: true } }), 'ValidatingAdmissionPolicy');
    const names = (dig(policy, 'spec', 'variables') as { name: string }[]).map((v) => v.name);
    expect(names).toEqual(['adminUsers', 'adminGroups', 'isAdmin', 'caInjectorUsers', 'onlyCaBundleChanged']);
    expect(dig(policy, 'spec', 'validations', 0, 'expression')).toBe('variables.isAdmin || (request.userInfo.username in variables.caInjectorUsers && variables.onlyCaBundleChanged)');
  });

  it('names the release`s own webhook configuration', async () => {
    const policy = find(await render({ selfProtection: { enabled: true } }, { release: 'guard' }), 'ValidatingAdmissionPolicy');
    expect(policy.metadata.name).toBe('guard-bulwark-self-protection');
    expect(dig(policy, 'spec', 'matchConstraints', 'resourceRules', 0, 'resourceNames')).toEqual(['guard-bulwark']);
  });
});
