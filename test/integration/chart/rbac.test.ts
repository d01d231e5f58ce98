// The chart's RBAC, rendered and judged the way the API server's RBAC authorizer matches
// rules (a `*` matches every group or resource, subresources included): least privilege
// holds for every combination of the rbac values. The same grants are checked on a real
// API server with `kubectl auth can-i` in test/e2e/helm.test.ts and test/e2e-full/install.test.ts.

import { describe, expect, it } from 'vitest';
import { dig, find, render } from './helm.ts';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

async function grants(values: Record<string, unknown> = {}) {
  const rules = dig(find(await render(values), 'ClusterRole', 'bulwark'), 'rules') as Rule[];
  /** What the RBAC authorizer answers for a cluster-wide request (resource may be `pods/log`). */
  const can = (verb: string, resource: string, group = '') =>
    rules.some(
      (r) =>
        (r.apiGroups.includes('*') || r.apiGroups.includes(group)) &&
        (r.resources.includes('*') || r.resources.includes(resource)) &&
        (r.verbs.includes('*') || r.verbs.includes(verb)),
    );
  return { rules, can };
}

describe('the ClusterRole names what it grants', () => {
  it('no wildcard anywhere, and no subresource but the status of its own objects', async () => {
    for (const values of [{}, { rbac: { listSecrets: true } }, { guards: { enabled: false } }]) {
      const { rules } = await grants(values);
      for (const r of rules) {
        expect(r.apiGroups).not.toContain('*');
        expect(r.resources).not.toContain('*');
        expect(r.verbs).not.toContain('*');
      }
      expect(rules.flatMap((r) => r.resources).filter((name) => name.includes('/'))).toEqual([
        'immutabilitypolicies/status',
        'imagepolicies/status',
        'unlockrequests/status',
        'localunlockrequests/status',
      ]);
    }
  });

  it('never pods/log, pods/exec, nodes/proxy or services/proxy, whatever the values', async () => {
    for (const values of [
      {},
      { rbac: { listSecrets: true, extraLockableResources: [{ apiGroups: [''], resources: ['events'] }] } },
    ]) {
      const { can } = await grants(values);
      for (const verb of ['get', 'list', 'create'])
        for (const sub of ['pods/log', 'pods/exec', 'pods/attach', 'nodes/proxy', 'services/proxy'])
          expect(can(verb, sub), `${verb} ${sub}`).toBe(false);
    }
  });

  it('Secrets: get with rbac.readSecrets (keys, pull secrets), list only with rbac.listSecrets', async () => {
    const defaults = await grants();
    expect(defaults.can('get', 'secrets')).toBe(true);
    expect(defaults.can('list', 'secrets')).toBe(false);
    expect(defaults.can('watch', 'secrets')).toBe(false);
    const none = await grants({ rbac: { readSecrets: false } });
    expect(none.can('get', 'secrets')).toBe(false);
    const listed = await grants({ rbac: { readSecrets: false, listSecrets: true } });
    expect(listed.can('list', 'secrets')).toBe(true);
    expect(listed.can('get', 'secrets')).toBe(true); // break-glass reads a locked Secret (readUnlockTargets)
    const listedOnly = await grants({ rbac: { readSecrets: false, listSecrets: true, readUnlockTargets: false } });
    expect(listedOnly.can('get', 'secrets')).toBe(false);
  });

  it('lockable kinds are listed, got only for break-glass, and custom resources only when named', async () => {
    const defaults = await grants();
    for (const [resource, group] of [
      ['configmaps', ''],
      ['deployments', 'apps'],
      ['customresourcedefinitions', 'apiextensions.k8s.io'],
      ['clusterroles', 'rbac.authorization.k8s.io'],
    ] as const) {
      expect(defaults.can('list', resource, group), resource).toBe(true);
      expect(defaults.can('get', resource, group), resource).toBe(true);
      expect(defaults.can('watch', resource, group), resource).toBe(false);
    }
    expect(defaults.can('list', 'widgets', 'example.com')).toBe(false);
    const narrowed = await grants({ rbac: { readUnlockTargets: false } });
    // ConfigMaps stay readable (keyless trusted roots); other kinds are got only for break-glass.
    expect(narrowed.can('get', 'clusterroles', 'rbac.authorization.k8s.io')).toBe(false);
    expect(narrowed.can('list', 'clusterroles', 'rbac.authorization.k8s.io')).toBe(true);
    expect(narrowed.can('get', 'configmaps')).toBe(true);
    const extended = await grants({
      rbac: { extraLockableResources: [{ apiGroups: ['example.com'], resources: ['widgets'] }] },
    });
    expect(extended.can('list', 'widgets', 'example.com')).toBe(true);
    expect(extended.can('get', 'widgets', 'example.com')).toBe(true);
    expect(extended.can('list', 'gadgets', 'example.com')).toBe(false);
  });
});
