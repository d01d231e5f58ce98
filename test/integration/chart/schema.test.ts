// values.schema.json: helm refuses wrong values before rendering anything, naming the
// offending path.

import { describe, expect, it } from 'vitest';
import { template } from './helm.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

const rejected: [string, Record<string, unknown>, RegExp][] = [
  ['replicas as a word', { deployment: { replicas: 'two' } }, /deployment\/replicas/],
  ['zero replicas', { deployment: { replicas: 0 } }, /deployment\/replicas/],
  ['an unknown TLS mode', { tls: { mode: 'selfSigned' } }, /tls\/mode/],
  ['a timeout above the apiserver`s 30 s maximum', { webhook: { timeoutSeconds: 31 } }, /webhook\/timeoutSeconds/],
  ['a timeout too short for a decision deadline', { webhook: { timeoutSeconds: 2 } }, /webhook\/timeoutSeconds/],
  ['an unknown failure policy', { webhook: { failurePolicy: 'Retry' } }, /webhook\/failurePolicy/],
  ['a plain-http webhook URL', { webhook: { url: 'http://127.0.0.1:8443/validate' } }, /webhook\/url/],
  [
    'an excluded namespace that is no name',
    { webhook: { excludedNamespaces: ['Kube_System'] } },
    /webhook\/excludedNamespaces/,
  ],
  ['an unknown top-level key', { replicaCount: 3 }, /replicaCount/],
  ['an unknown nested key', { deployment: { replica: 3 } }, /replica/],
  ['an invalid lock label key', { lockLabel: { key: 'not a label' } }, /lockLabel\/key/],
  ['an empty lock label value', { lockLabel: { value: '' } }, /lockLabel\/value/],
  ['a tag-like digest', { image: { digest: 'latest' } }, /image\/digest/],
  [
    'a write verb in extra read rules',
    { rbac: { extraReadRules: [{ apiGroups: ['example.com'], resources: ['widgets'], verbs: ['delete'] }] } },
    /extraReadRules/,
  ],
  [
    'a wildcard lockable resource (RBAC must name each)',
    { rbac: { extraLockableResources: [{ apiGroups: ['example.com'], resources: ['*'] }] } },
    /extraLockableResources/,
  ],
  [
    'a subresource as a lockable resource',
    { rbac: { extraLockableResources: [{ apiGroups: [''], resources: ['pods/log'] }] } },
    /extraLockableResources/,
  ],
  [
    'Secrets as a lockable resource (rbac.listSecrets is their switch)',
    { rbac: { extraLockableResources: [{ apiGroups: [''], resources: ['secrets'] }] } },
    /extraLockableResources/,
  ],
  ['secret mode without a CA', { tls: { mode: 'secret', secret: { name: 'tls' } } }, /caBundle/],
  [
    'a caBundle that is not PEM',
    { tls: { mode: 'secret', secret: { name: 'tls', caBundle: 'LS0tLS1CRUdJTi...' } } },
    /caBundle/,
  ],
  [
    'an unknown issuer kind',
    { tls: { mode: 'certManager', certManager: { issuerRef: { name: 'x', kind: 'Vault' } } } },
    /issuerRef\/kind/,
  ],
  [
    'a certificate duration that is no Go duration',
    { tls: { certManager: { duration: '90 days' } } },
    /certManager\/duration/,
  ],
  [
    'self-protection with nobody left to administer it',
    { selfProtection: { enabled: true }, policyAdmins: { groups: [], users: [], serviceAccounts: [] } },
    /policyAdmins/,
  ],
  [
    'the self-protection admins of old (policyAdmins is the one list now)',
    { selfProtection: { adminGroups: ['platform'] } },
    /adminGroups/,
  ],
  ['a boolean given as a string', { images: { enabled: 'yes' } }, /images\/enabled/],
  ['an audit page size of 0', { audit: { pageSize: 0 } }, /audit\/pageSize.*minimum/],
  ['an audit page size above 10,000', { audit: { pageSize: 10001 } }, /audit\/pageSize.*maximum/],
  ['an audit page size that is no whole number', { audit: { pageSize: 12.5 } }, /audit\/pageSize/],
  ['an audit page size given as a string', { audit: { pageSize: '500' } }, /audit\/pageSize/],
];

describe('values.schema.json', () => {
  it.each(rejected)('rejects %s', async (_name, values, path) => {
    const result = await template(values);
    expect(result.code, result.stdout.slice(0, 200)).not.toBe(0);
    expect(result.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(result.stderr).toMatch(path);
  });

  it('accepts a full, sensible configuration', async () => {
    const result = await template({
      image: { repository: 'registry.example.com/bulwark', tag: '0.1.0', digest: `sha256:${'0'.repeat(64)}` },
      lockLabel: { key: 'example.com/frozen', value: 'yes' },
      webhook: {
        url: 'https://bulwark.example.com:8443/validate',
        timeoutSeconds: 30,
        excludedNamespaces: ['cert-manager'],
      },
      deployment: {
        enabled: false,
        replicas: 3,
        extraEnv: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=384' }],
      },
      rbac: { extraReadRules: [{ apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get'] }] },
      tls: { mode: 'secret', secret: { name: 'tls', caBundle: PEM } },
      policyAdmins: {
        groups: [],
        users: [],
        serviceAccounts: [{ namespace: 'argocd', name: 'argocd-application-controller' }],
      },
      selfProtection: { enabled: true },
      audit: { pageSize: 10000 },
    });
    expect(result.code, result.stderr).toBe(0);
  });
});
