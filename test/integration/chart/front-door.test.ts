// Who may reach the pods: /metrics on a plain-HTTP port of its own (so that a scraper can
// be let in without reaching /validate), and the optional NetworkPolicy that admits only
// the API server to the webhook port and the scraper to the metrics port.

import { describe, expect, it } from 'vitest';
import { dig, find, kinds, render, template } from './helm.ts';

describe('metrics port', () => {
  it('refuses to render a ServiceMonitor that would scrape a port /metrics left', async () => {
    await expect(render({ deployment: { metricsPort: 9090 }, serviceMonitor: { enabled: true } })).rejects.toThrow(
      /deployment.metricsPort=null/,
    );
  });

  it('serves /metrics on its own named port when metricsPort is set', async () => {
    const rendered = await render({ deployment: { metricsPort: 9090 } });
    const container = dig(find(rendered, 'Deployment'), 'spec', 'template', 'spec', 'containers', 0);
    expect(container.args).toContain('--metrics-port=9090');
    expect(container.ports).toEqual([
      { name: 'https', containerPort: 8443, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ]);
  });

  it('keeps /metrics on the HTTPS port by default (metricsPort null), where serviceMonitor scrapes it', async () => {
    const container = dig(find(await render(), 'Deployment'), 'spec', 'template', 'spec', 'containers', 0);
    expect(container.args.some((a: string) => a.startsWith('--metrics-port'))).toBe(false);
    expect(container.ports.map((p: { name: string }) => p.name)).toEqual(['https']);
  });
});

describe('mutual TLS (tls.clientCa)', () => {
  const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

  it('mounts the client CA from a ConfigMap, passes --client-ca, probes on the metrics port', async () => {
    const rendered = await render({ tls: { clientCa: CA }, deployment: { metricsPort: 9090 } });
    const pod = dig(find(rendered, 'Deployment'), 'spec', 'template');
    const container = dig(pod, 'spec', 'containers', 0);
    expect(container.args).toContain('--client-ca=/client-ca/ca.crt');
    expect(container.volumeMounts).toContainEqual({ name: 'client-ca', mountPath: '/client-ca', readOnly: true });
    expect(pod.spec.volumes).toContainEqual({ name: 'client-ca', configMap: { name: 'bulwark-client-ca' } });
    expect(dig(find(rendered, 'ConfigMap', 'bulwark-client-ca'), 'data')).toEqual({ 'ca.crt': CA });
    // The kubelet's probes carry no certificate: they go to the plain-HTTP port, which serves them.
    for (const probe of ['readinessProbe', 'startupProbe', 'livenessProbe'])
      expect(container[probe].httpGet).toMatchObject({ port: 'metrics', scheme: 'HTTP' });
    // A new CA rolls the pods (Bulwark reads it at start).
    expect(pod.metadata.annotations['bulwark.dev/client-ca-sha256']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is off by default: no client CA, probes over HTTPS', async () => {
    const rendered = await render();
    const container = dig(find(rendered, 'Deployment'), 'spec', 'template', 'spec', 'containers', 0);
    expect(container.args.some((a: string) => a.startsWith('--client-ca'))).toBe(false);
    expect(container.readinessProbe.httpGet).toMatchObject({ port: 'https', scheme: 'HTTPS' });
    expect(rendered.some((m) => m.metadata.name === 'bulwark-client-ca')).toBe(false);
  });

  it('refuses to render without a metrics port (probes would fail the handshake) or with a non-PEM CA', async () => {
    await expect(render({ tls: { clientCa: CA } })).rejects.toThrow(/tls.clientCa needs deployment.metricsPort/);
    const result = await template({ tls: { clientCa: 'LS0tLS1CRUdJTi...' }, deployment: { metricsPort: 9090 } });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/tls\/clientCa/);
  });
});

describe('network policy', () => {
  it('is off by default', async () => {
    expect(kinds(await render())).not.toContain('NetworkPolicy');
  });

  it('admits the API server to the webhook port and the scraper to the metrics port, nothing else', async () => {
    const apiServer = [{ ipBlock: { cidr: '10.0.0.0/24' } }];
    const metricsScraper = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }];
    const policy = find(
      await render({ deployment: { metricsPort: 9090 }, networkPolicy: { enabled: true, apiServer, metricsScraper } }),
      'NetworkPolicy',
    );
    expect(policy.spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'bulwark', 'app.kubernetes.io/instance': 'bulwark' } },
      policyTypes: ['Ingress'],
      ingress: [
        { from: apiServer, ports: [{ port: 'https', protocol: 'TCP' }] },
        { from: metricsScraper, ports: [{ port: 'metrics', protocol: 'TCP' }] },
      ],
    });
  });

  it('refuses to render without the API server peers (it would cut the API server off)', async () => {
    const result = await template({ networkPolicy: { enabled: true } });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('networkPolicy.enabled needs networkPolicy.apiServer');
  });
});
