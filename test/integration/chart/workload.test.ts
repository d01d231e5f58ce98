// The chart's defaults: what gets installed, and the properties a careful platform team
// checks first (HA, probes, hardening, least-privilege RBAC).

import { describe, expect, it } from 'vitest';
import { CHART_DIR, dig, find, KUBE_VERSION, kinds, render, runHelm, type Manifest } from './helm.ts';

describe('helm lint', () => {
  it('passes with the defaults and with every TLS mode', async () => {
    for (const args of [
      [],
      ['--set', 'tls.mode=certManager'],
      ['--set', 'selfProtection.enabled=false'],
      [
        '--set',
        'tls.mode=secret',
        '--set',
        'tls.secret.name=tls',
        '--set',
        'tls.secret.caBundle=-----BEGIN CERTIFICATE-----',
      ],
    ]) {
      const result = await runHelm(['lint', CHART_DIR, '--strict', '--kube-version', KUBE_VERSION, ...args]);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toContain('0 chart(s) failed');
    }
  });
});

describe('defaults', async () => {
  const manifests = await render();
  const deployment = find(manifests, 'Deployment');
  const pod = dig(deployment, 'spec', 'template', 'spec');
  const container = dig(pod, 'containers', 0);

  it('installs exactly the expected objects', () => {
    expect(kinds(manifests.filter((m) => m.kind !== 'ClusterRole'))).toEqual([
      'ClusterRoleBinding',
      'ClusterRoleBinding',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'Deployment',
      'MutatingWebhookConfiguration',
      'Pod',
      'PodDisruptionBudget',
      'Role',
      'RoleBinding',
      'Secret',
      'Service',
      // Bulwark's and the helm test pod's.
      'ServiceAccount',
      'ServiceAccount',
      // Self-protection and the namespace marks' guard.
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'ValidatingAdmissionPolicyBinding',
      'ValidatingAdmissionPolicyBinding',
      'ValidatingWebhookConfiguration',
    ]);
    expect(
      manifests
        .filter((m) => m.kind === 'ClusterRole')
        .map((m) => m.metadata.name)
        .sort(),
    ).toEqual([
      'bulwark',
      'bulwark-approver',
      'bulwark-approver-rules',
      'bulwark-policy-admin',
      'bulwark-policy-admin-rules',
      'bulwark-probe',
      'bulwark-requester',
      'bulwark-requester-rules',
      'bulwark-test',
    ]);
    const clusterScoped = /^(Cluster|Validating|Mutating|CustomResourceDefinition)/;
    for (const m of manifests.filter((x) => !clusterScoped.test(x.kind))) {
      expect(m.metadata.namespace, `${m.kind}`).toBe('bulwark-system');
    }
    for (const m of manifests) expect(m.metadata.labels?.['app.kubernetes.io/instance'], m.kind).toBe('bulwark');
  });

  it('runs 2 replicas spread across nodes, never dropping below them during a rollout', () => {
    expect(dig(deployment, 'spec', 'replicas')).toBe(2);
    expect(dig(deployment, 'spec', 'strategy', 'rollingUpdate')).toEqual({ maxUnavailable: 0, maxSurge: 1 });
    const spread = pod.topologySpreadConstraints as { topologyKey: string; whenUnsatisfiable: string }[];
    expect(spread.map((s) => s.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    expect(
      dig(
        pod,
        'affinity',
        'podAntiAffinity',
        'preferredDuringSchedulingIgnoredDuringExecution',
        0,
        'podAffinityTerm',
        'topologyKey',
      ),
    ).toBe('kubernetes.io/hostname');
    expect(pod.priorityClassName).toBeUndefined();
  });

  it('probes readiness on /readyz and liveness on /healthz over HTTPS', () => {
    expect(dig(container, 'readinessProbe', 'httpGet')).toEqual({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
    expect(dig(container, 'livenessProbe', 'httpGet')).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
    // Liveness starts once the process listens: a slow start on a busy node is not a crash loop.
    expect(dig(container, 'startupProbe', 'httpGet')).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
    expect(dig(container, 'startupProbe', 'failureThreshold')).toBeGreaterThanOrEqual(60);
    expect(dig(container, 'livenessProbe', 'initialDelaySeconds')).toBeUndefined();
    expect(container.ports).toEqual([{ name: 'https', containerPort: 8443, protocol: 'TCP' }]);
  });

  it(
    'is hardened: non-root 65532, read-only root, no privilege escalation, no capabilities, RuntimeDefault ' +
      'seccomp',
    () => {
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 65532,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(container.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: 65532,
        runAsGroup: 65532,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        privileged: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
      expect(container.resources.limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    },
  );

  it(
    'mounts only the serving pair at /tls and passes it, the lock label and a deadline below the webhook ' + 'timeout',
    () => {
      expect(container.args).toEqual([
        'serve',
        '--port=8443',
        '--cert=/tls/tls.crt',
        '--key=/tls/tls.key',
        '--cluster=required',
        '--log-level=info',
        '--decision-timeout=8',
        '--drain=95',
        '--namespace=bulwark-system',
        '--attestation-keys-secret=bulwark-attestation-keys',
        '--audit-page-size=500',
        '--label-key=bulwark.dev/immutable',
        '--label-value=true',
        '--policy-admin-groups=system:masters',
      ]);
      const tls = (pod.volumes as { name: string; secret?: { secretName: string; items: { key: string }[] } }[]).find(
        (v) => v.name === 'tls',
      );
      expect(tls?.secret?.secretName).toBe('bulwark-tls');
      expect(tls?.secret?.items.map((i) => i.key)).toEqual(['tls.crt', 'tls.key']);
      expect(container.volumeMounts).toContainEqual({ name: 'tls', mountPath: '/tls', readOnly: true });
    },
  );

  it('gives the pod time to leave the Service, drain and exit before it is killed', () => {
    expect(dig(container, 'lifecycle', 'preStop', 'sleep', 'seconds')).toBe(5);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(5 + 95);
  });

  it('keeps one pod available through node drains', () => {
    const pdb = find(manifests, 'PodDisruptionBudget');
    expect(dig(pdb, 'spec', 'minAvailable')).toBe(1);
    expect(dig(pdb, 'spec', 'selector', 'matchLabels')).toEqual(dig(deployment, 'spec', 'selector', 'matchLabels'));
  });

  it('exposes 443 -> https (8443) on a ClusterIP Service selecting the pods', () => {
    const service = find(manifests, 'Service');
    expect(dig(service, 'spec', 'ports')).toEqual([{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
    expect(dig(service, 'spec', 'selector')).toEqual(dig(deployment, 'spec', 'selector', 'matchLabels'));
  });
});

describe('deployment options', () => {
  it('sets a priorityClass, digest-pinned image and replica count when asked', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const manifests = await render({
      deployment: { priorityClassName: 'system-cluster-critical', replicas: 3 },
      image: { digest },
    });
    const deployment = find(manifests, 'Deployment');
    expect(dig(deployment, 'spec', 'replicas')).toBe(3);
    expect(dig(deployment, 'spec', 'template', 'spec', 'priorityClassName')).toBe('system-cluster-critical');
    expect(dig(deployment, 'spec', 'template', 'spec', 'containers', 0, 'image')).toBe(
      `ghcr.io/bulwark-dev/bulwark:0.1.0@${digest}`,
    );
  });

  it('renders no PodDisruptionBudget for a single replica (it would block every drain)', async () => {
    expect(kinds(await render({ deployment: { replicas: 1 } }))).not.toContain('PodDisruptionBudget');
  });

  it('refuses a minAvailable that leaves nothing to evict', async () => {
    await expect(render({ podDisruptionBudget: { minAvailable: 2 } })).rejects.toThrow(
      /minAvailable must be below deployment.replicas/,
    );
  });

  it('passes a timeout-derived decision deadline and the configured lock label', async () => {
    const manifests = await render({
      webhook: { timeoutSeconds: 5 },
      lockLabel: { key: 'example.com/frozen', value: 'yes' },
    });
    const args = dig(find(manifests, 'Deployment'), 'spec', 'template', 'spec', 'containers', 0, 'args') as string[];
    expect(args).toContain('--decision-timeout=3');
    expect(args).toContain('--label-key=example.com/frozen');
    expect(args).toContain('--label-value=yes');
  });

  it('passes approver groups for the built-in default only when some are set', async () => {
    expect((await argsOf({})).some((a) => a.startsWith('--default-approver-groups'))).toBe(false);
    expect(await argsOf({ defaultUnlock: { approverGroups: ['platform-leads', 'sre'] } })).toContain(
      '--default-approver-groups=platform-leads,sre',
    );
  });

  it('passes the policy admins: groups always (empty means nobody), users and service accounts as users', async () => {
    const args = await argsOf({
      policyAdmins: {
        groups: ['platform'],
        users: ['jane'],
        serviceAccounts: [{ namespace: 'argocd', name: 'argocd-application-controller' }],
      },
    });
    expect(args).toContain('--policy-admin-groups=platform');
    expect(args).toContain('--policy-admin-users=jane,system:serviceaccount:argocd:argocd-application-controller');
    expect(await argsOf({ policyAdmins: { groups: [] }, selfProtection: { enabled: false } })).toContain(
      '--policy-admin-groups=',
    );
  });

  it('passes webhook.excludedNamespaces (the audit does not judge their Pods) only when some are set', async () => {
    expect((await argsOf({})).some((a) => a.startsWith('--excluded-namespaces'))).toBe(false);
    expect(await argsOf({ webhook: { excludedNamespaces: ['cert-manager', 'istio-system'] } })).toContain(
      '--excluded-namespaces=cert-manager,istio-system',
    );
  });
});

/** The Bulwark container's args, rendered with `values`. */
async function argsOf(values: Record<string, unknown>): Promise<string[]> {
  return dig(find(await render(values), 'Deployment'), 'spec', 'template', 'spec', 'containers', 0, 'args') as string[];
}

function rules(manifests: Manifest[]): { apiGroups: string[]; resources: string[]; verbs: string[] }[] {
  return dig(find(manifests, 'ClusterRole', 'bulwark'), 'rules');
}

describe('RBAC', () => {
  it('grants exactly what the rules read, and writes only status, Events and what the drift audit writes', async () => {
    const manifests = await render();
    expect(rules(manifests)).toEqual([
      {
        apiGroups: ['bulwark.dev'],
        resources: ['immutabilitypolicies', 'imagepolicies', 'unlockrequests', 'localunlockrequests'],
        verbs: ['get', 'list', 'watch'],
      },
      {
        apiGroups: ['bulwark.dev'],
        resources: [
          'immutabilitypolicies/status',
          'imagepolicies/status',
          'unlockrequests/status',
          'localunlockrequests/status',
        ],
        verbs: ['patch'],
      },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
      { apiGroups: ['bulwark.dev'], resources: ['seals'], verbs: ['get', 'list', 'create', 'update', 'delete'] },
      {
        apiGroups: ['wgpolicyk8s.io'],
        resources: ['policyreports', 'clusterpolicyreports'],
        verbs: ['get', 'create', 'update'],
      },
      { apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch', 'patch'] },
      { apiGroups: [''], resources: ['pods', 'replicationcontrollers'], verbs: ['get'] },
      { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'statefulsets'], verbs: ['get'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
      // Then one rule per group of rbac.lockableResources (rbac.test.ts), and the guard's CRD get.
      ...rules(manifests).slice(10, -1),
      { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['get'] },
    ]);
    for (const r of rules(manifests).slice(10, -1)) expect(r.verbs).toEqual(['get', 'list']);
    const binding = find(manifests, 'ClusterRoleBinding', 'bulwark');
    expect(dig(binding, 'subjects')).toEqual([
      { kind: 'ServiceAccount', name: 'bulwark', namespace: 'bulwark-system' },
    ]);
    expect(dig(binding, 'roleRef', 'name')).toBe('bulwark');
  });

  it('drops Secrets when asked, adds extra read rules, and never grants writes beyond its own', async () => {
    const extra = { apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get'] };
    const granted = rules(
      await render({
        rbac: { readSecrets: false, readUnlockTargets: false, extraReadRules: [extra] },
        guards: { enabled: false },
      }),
    );
    expect(granted).not.toContainEqual(expect.objectContaining({ resources: ['secrets'] }));
    expect(granted.at(-1)).toEqual(extra);
    // Writes: status of its own objects, Events, the drift audit's seals and PolicyReports, and the namespace
    // marks (which the ValidatingAdmissionPolicy bulwark-namespace-marks narrows); nothing else.
    const writes = granted.filter((r) => r.verbs.some((v) => !['get', 'list', 'watch'].includes(v)));
    expect(writes.flatMap((r) => r.resources)).toEqual([
      'immutabilitypolicies/status',
      'imagepolicies/status',
      'unlockrequests/status',
      'localunlockrequests/status',
      'events',
      'seals',
      'policyreports',
      'clusterpolicyreports',
      'namespaces',
    ]);
    expect(granted.filter((r) => r.verbs.includes('patch')).flatMap((r) => r.resources)).toEqual([
      'immutabilitypolicies/status',
      'imagepolicies/status',
      'unlockrequests/status',
      'localunlockrequests/status',
      'namespaces',
    ]);
    expect(granted.filter((r) => r.verbs.includes('create')).flatMap((r) => r.resources)).toEqual([
      'events',
      'seals',
      'policyreports',
      'clusterpolicyreports',
    ]);
  });

  it('ships the people roles with the verbs each needs and no more, extensible by aggregation', async () => {
    // Both kinds: a RoleBinding in a team's namespace reaches its LocalUnlockRequests only.
    const UNLOCKS = ['unlockrequests', 'localunlockrequests'];
    const manifests = await render();
    const rulesOf = (name: string) => dig(find(manifests, 'ClusterRole', `bulwark-${name}-rules`), 'rules');
    // The aggregated roles leave `rules` to the aggregation controller (a server-side-apply
    // upgrade that set them would conflict with it: seen as a failed helm upgrade).
    for (const role of ['requester', 'approver', 'policy-admin'])
      expect(find(manifests, 'ClusterRole', `bulwark-${role}`)).not.toHaveProperty('rules');
    expect(rulesOf('requester')).toEqual([
      { apiGroups: ['bulwark.dev'], resources: UNLOCKS, verbs: ['get', 'list', 'watch', 'create'] },
    ]);
    expect(rulesOf('approver')).toEqual([
      { apiGroups: ['bulwark.dev'], resources: UNLOCKS, verbs: ['get', 'list', 'watch', 'update', 'patch'] },
    ]);
    expect(rulesOf('policy-admin')).toEqual([
      {
        apiGroups: ['bulwark.dev'],
        resources: ['immutabilitypolicies', 'imagepolicies'],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
      },
      { apiGroups: ['bulwark.dev'], resources: UNLOCKS, verbs: ['get', 'list', 'watch'] },
    ]);
    for (const role of ['requester', 'approver', 'policy-admin']) {
      expect(dig(find(manifests, 'ClusterRole', `bulwark-${role}`), 'aggregationRule')).toEqual({
        clusterRoleSelectors: [{ matchLabels: { [`bulwark.dev/aggregate-to-${role}`]: 'true' } }],
      });
    }
    const without = await render({ rbac: { userRoles: { create: false } } });
    expect(without.filter((m) => m.kind === 'ClusterRole').map((m) => m.metadata.name)).toEqual([
      'bulwark',
      'bulwark-probe',
      'bulwark-test',
    ]);
  });

  it('lets Bulwark keep its keys` Secret, its lock records and its one Lease, in its own namespace only', async () => {
    const manifests = await render();
    const role = find(manifests, 'Role');
    expect(role.metadata.namespace).toBe('bulwark-system');
    expect(dig(role, 'rules')).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['bulwark-attestation-keys'], verbs: ['get'] },
      // Who locked what, what changed under unlocks: each replica records what it admits; the audit reads and deletes.
      {
        apiGroups: ['bulwark.dev'],
        resources: ['lockattributions', 'unlockedchanges'],
        verbs: ['create', 'list', 'delete'],
      },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['bulwark-controllers'],
        verbs: ['get', 'update'],
      },
    ]);
    expect(dig(find(manifests, 'RoleBinding'), 'subjects', 0, 'name')).toBe('bulwark');
  });
});

describe('notifications', () => {
  it('passes the URL and Secret to Bulwark and lets it read that one Secret', async () => {
    const manifests = await render({ notifications: { url: 'https://chat.example/hook', secretName: 'hook' } });
    const args = dig(find(manifests, 'Deployment'), 'spec', 'template', 'spec', 'containers', 0, 'args') as string[];
    expect(args).toEqual(expect.arrayContaining(['--notify-url=https://chat.example/hook', '--notify-secret=hook']));
    expect(dig(find(manifests, 'Role'), 'rules')).toContainEqual({
      apiGroups: [''],
      resources: ['secrets'],
      resourceNames: ['hook'],
      verbs: ['get'],
    });
    const none = dig(find(await render(), 'Deployment'), 'spec', 'template', 'spec', 'containers', 0, 'args');
    expect((none as string[]).some((a) => a.startsWith('--notify'))).toBe(false);
  });
});

describe('the mutating webhook', () => {
  it('is for UnlockRequests alone, at /mutate, and fails closed', async () => {
    const manifests = await render();
    const webhook = dig(find(manifests, 'MutatingWebhookConfiguration'), 'webhooks', 0);
    expect(webhook.name).toBe('attest.bulwark.dev');
    expect(webhook.rules).toEqual([
      {
        apiGroups: ['bulwark.dev'],
        apiVersions: ['*'],
        resources: ['unlockrequests', 'localunlockrequests'],
        operations: ['CREATE', 'UPDATE'],
        scope: '*',
      },
    ]);
    expect(webhook.clientConfig.service.path).toBe('/mutate');
    expect(webhook.failurePolicy).toBe('Fail');
    expect(webhook.sideEffects).toBe('None');
    // The same CA as the validating webhook (one generated CA per render).
    const validating = dig(find(manifests, 'ValidatingWebhookConfiguration'), 'webhooks', 0);
    expect(webhook.clientConfig.caBundle).toBe(validating.clientConfig.caBundle);
  });
});
