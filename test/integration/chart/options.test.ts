// The chart's options as users meet them: CRDs in the release, monitoring, `helm test`,
// hostNetwork and security contexts, and values that contradict each other failing at
// render time with a sentence instead of a cluster that fails closed.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART_DIR, dig, find, kinds, render, template } from './helm.ts';

const CRD_FILES = join(CHART_DIR, 'files', 'crds');

describe('CRDs', () => {
  it("are the release's: rendered from files/crds/ as they are, labelled, and kept on uninstall", async () => {
    const crds = (await render()).filter((m) => m.kind === 'CustomResourceDefinition');
    const sources = readdirSync(CRD_FILES).map(
      (f) => parse(readFileSync(join(CRD_FILES, f), 'utf8')) as { metadata: { name: string }; spec: unknown },
    );
    expect(crds.map((c) => c.metadata.name).sort()).toEqual(sources.map((s) => s.metadata.name).sort());
    for (const source of sources) {
      const crd = find(crds, 'CustomResourceDefinition', source.metadata.name);
      expect(crd.spec).toEqual(source.spec);
      expect(crd.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
      expect(crd.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
    }
  });

  it(
    'are not kept with crds.keep=false, and not rendered with crds.enabled=false; ' +
      'the chart has no crds/ directory Helm would install on its own',
    async () => {
      for (const crd of (await render({ crds: { keep: false } })).filter(
        (m) => m.kind === 'CustomResourceDefinition',
      )) {
        expect(crd.metadata.annotations?.['helm.sh/resource-policy']).toBeUndefined();
      }
      expect(kinds(await render({ crds: { enabled: false } }))).not.toContain('CustomResourceDefinition');
      expect(readdirSync(CHART_DIR)).not.toContain('crds');
    },
  );
});

describe('policyReports.installCRDs', () => {
  it('installs the Policy WG report CRDs only when asked, kept on uninstall', async () => {
    const reportCrds = (manifests: Awaited<ReturnType<typeof render>>) =>
      manifests
        .filter((m) => m.kind === 'CustomResourceDefinition' && m.metadata.name.endsWith('.wgpolicyk8s.io'))
        .map((m) => m.metadata.name)
        .sort();
    expect(reportCrds(await render())).toEqual([]);
    const manifests = await render({ policyReports: { installCRDs: true } });
    expect(reportCrds(manifests)).toEqual(['clusterpolicyreports.wgpolicyk8s.io', 'policyreports.wgpolicyk8s.io']);
    const crd = find(manifests, 'CustomResourceDefinition', 'policyreports.wgpolicyk8s.io');
    expect(crd.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    expect(dig(crd, 'spec', 'versions', 0, 'name')).toBe('v1alpha2');
  });
});

describe('monitoring', () => {
  it(
    'serviceMonitor.enabled passes the schema and scrapes every ' +
      "pod behind the Service over HTTPS, trusting the chart's CA",
    async () => {
      const manifests = await render({ serviceMonitor: { enabled: true, labels: { release: 'prom' } } });
      const monitor = find(manifests, 'ServiceMonitor');
      const service = find(manifests, 'Service');
      expect(monitor.metadata).toMatchObject({
        name: 'bulwark',
        namespace: 'bulwark-system',
        labels: { release: 'prom' },
      });
      expect(dig(monitor, 'spec', 'selector', 'matchLabels')).toEqual(
        dig(find(manifests, 'Deployment'), 'spec', 'selector', 'matchLabels'),
      );
      expect(dig(service, 'metadata', 'labels')).toMatchObject(dig(monitor, 'spec', 'selector', 'matchLabels'));
      expect(dig(monitor, 'spec', 'endpoints', 0)).toEqual({
        port: dig(service, 'spec', 'ports', 0, 'name'),
        scheme: 'https',
        path: '/metrics',
        interval: '30s',
        scrapeTimeout: '10s',
        tlsConfig: { ca: { secret: { name: 'bulwark-tls', key: 'ca.crt' } }, serverName: 'bulwark.bulwark-system.svc' },
      });
    },
  );

  it("prometheusRule.enabled renders the alerts that matter, each on this release's targets", async () => {
    const rule = find(
      await render({ prometheusRule: { enabled: true, alertLabels: { team: 'platform' } } }),
      'PrometheusRule',
    );
    const alerts = dig(rule, 'spec', 'groups', 0, 'rules') as {
      alert: string;
      expr: string;
      labels: Record<string, string>;
    }[];
    expect(alerts.map((a) => a.alert)).toEqual([
      'BulwarkDown',
      'BulwarkReplicasDown',
      'BulwarkPoliciesNotSynced',
      'BulwarkLoopsPaused',
      'BulwarkHighDenialRate',
      'BulwarkCertificateExpiring',
    ]);
    for (const a of alerts) {
      expect(a.expr).toContain('job="bulwark",namespace="bulwark-system"');
      expect(a.labels).toMatchObject({ team: 'platform', severity: expect.stringMatching(/^(critical|warning)$/) });
    }
    expect(alerts[1]?.expr).toContain('< 2');
    expect(alerts[3]?.expr).toContain('state="leading"}) == 0');
    expect(alerts[4]?.expr).toMatch(/> 0\.5$/);
    expect(alerts[5]?.expr).toContain(`< ${14 * 86400}`);
  });

  it('metrics.policyLabel passes --metrics-policy-label', async () => {
    const args = (values: Record<string, unknown>) =>
      render(values).then(
        (m) => dig(find(m, 'Deployment'), 'spec', 'template', 'spec', 'containers', 0, 'args') as string[],
      );
    expect(await args({})).not.toContain('--metrics-policy-label');
    expect(await args({ metrics: { policyLabel: true } })).toContain('--metrics-policy-label');
  });
});

describe('audit.pageSize', () => {
  it('passes --audit-page-size: objects per list request of the drift audit (500 unless set)', async () => {
    const args = async (values: Record<string, unknown>) =>
      dig(find(await render(values), 'Deployment'), 'spec', 'template', 'spec', 'containers', 0, 'args') as string[];
    expect(await args({})).toContain('--audit-page-size=500');
    const set = await args({ audit: { pageSize: 100 } });
    expect(set).toContain('--audit-page-size=100');
    expect(set.filter((a) => a.startsWith('--audit-page-size'))).toHaveLength(1);
  });
});

describe('helm test', () => {
  it('ships a locked, empty, version-independent ClusterRole, and a test pod allowed to patch only that', async () => {
    const manifests = await render();
    const probe = find(manifests, 'ClusterRole', 'bulwark-probe');
    expect(probe.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'bulwark',
      'app.kubernetes.io/instance': 'bulwark',
      'bulwark.dev/immutable': 'true',
    });
    expect(dig(probe, 'rules')).toEqual([]);
    expect(dig(find(manifests, 'ClusterRole', 'bulwark-test'), 'rules')).toEqual([
      {
        apiGroups: ['rbac.authorization.k8s.io'],
        resources: ['clusterroles'],
        resourceNames: ['bulwark-probe'],
        verbs: ['patch'],
      },
    ]);
    const pod = find(manifests, 'Pod');
    expect(pod.metadata.annotations?.['helm.sh/hook']).toBe('test');
    // Not selected by the Service or the PodDisruptionBudget: reviews must never be routed to it.
    expect(pod.metadata.labels?.['app.kubernetes.io/name']).toBe('bulwark-test');
    expect(dig(pod, 'spec', 'serviceAccountName')).toBe('bulwark-test');
    expect(dig(pod, 'spec', 'containers', 0, 'env')).toEqual([{ name: 'PROBE', value: 'bulwark-probe' }]);
    expect(dig(pod, 'spec', 'containers', 0, 'args', 0)).toContain('dryRun=All');
    expect(kinds(await render({ tests: { enabled: false } }))).not.toContain('Pod');
  });
});

describe('networks and security contexts', () => {
  it("hostNetwork puts the pods in the node's network with cluster DNS", async () => {
    const pod = dig(
      find(await render({ deployment: { hostNetwork: true } }), 'Deployment'),
      'spec',
      'template',
      'spec',
    );
    expect(pod).toMatchObject({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' });
    expect(dig(find(await render(), 'Deployment'), 'spec', 'template', 'spec', 'hostNetwork')).toBeUndefined();
  });

  it("lets the security contexts be replaced, and fixed IDs be removed (OpenShift's restricted SCC)", async () => {
    const result = await template(
      {},
      {
        extraArgs: [
          '--set',
          'deployment.podSecurityContext.runAsUser=null',
          '--set',
          'deployment.podSecurityContext.runAsGroup=null',
          '--set',
          'deployment.podSecurityContext.fsGroup=null',
          '--set',
          'deployment.containerSecurityContext.runAsUser=null',
          '--set',
          'deployment.containerSecurityContext.runAsGroup=null',
        ],
      },
    );
    expect(result.code, result.stderr).toBe(0);
    const deployment = parse(result.stdout.split('\n---\n').find((d) => d.includes('kind: Deployment'))!) as Record<
      string,
      unknown
    >;
    const pod = dig(deployment, 'spec', 'template', 'spec');
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers[0].securityContext).toEqual({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });
});

describe('values that do not go together fail at render time, saying what to set', () => {
  it.each([
    [
      'deployment.enabled=false without webhook.url',
      { deployment: { enabled: false } },
      /deployment\.enabled=false renders no Bulwark in the cluster, so webhook\.url must say where Bulwark runs/,
    ],
    [
      'a ServiceMonitor without the pods it scrapes',
      {
        deployment: { enabled: false },
        webhook: { url: 'https://bulwark.example.com/validate' },
        serviceMonitor: { enabled: true },
      },
      /serviceMonitor\.enabled scrapes the Service of Bulwark's pods/,
    ],
    [
      'a ServiceMonitor with tls.mode=secret and no tlsConfig',
      {
        tls: { mode: 'secret', secret: { name: 'tls', caBundle: '-----BEGIN CERTIFICATE-----' } },
        serviceMonitor: { enabled: true },
      },
      /needs serviceMonitor\.tlsConfig/,
    ],
    [
      'a ServiceMonitor in another namespace without tlsConfig',
      { serviceMonitor: { enabled: true, namespace: 'monitoring' } },
      /Prometheus reads a tlsConfig Secret from the ServiceMonitor's own namespace/,
    ],
    [
      'a PrometheusRule without the pods',
      {
        deployment: { enabled: false },
        webhook: { url: 'https://bulwark.example.com/validate' },
        prometheusRule: { enabled: true },
      },
      /prometheusRule\.enabled alerts on the metrics of Bulwark's pods/,
    ],
    [
      "hostNetwork on the kubelet's port",
      { deployment: { hostNetwork: true, containerPort: 10250 } },
      /the kubelet already listens there/,
    ],
  ])('%s', async (_, values, message) => {
    const result = await template(values);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });
});
