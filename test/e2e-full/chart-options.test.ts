// The chart's options on the real cluster, as users meet them: `helm test`, metrics through
// the Service, a ServiceMonitor and PrometheusRule accepted by prometheus-operator's real
// CRDs and scraped as Prometheus would, hostNetwork, another UID by securityContext, and an
// upgrade that changes the CRDs. Each test puts the release back to the chart's defaults.

import { X509Certificate } from 'node:crypto';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { kubectlOk } from '../../harness/kubectl.ts';
import { WEBHOOK_CLIENT_CA } from '../../harness/webhook-client.ts';
import { httpsRequest } from '../helpers/https.ts';
import {
  CHART_DIR,
  fullCluster,
  helm,
  isImmutabilityDenial,
  kubectl,
  kubectlJson,
  LOCK_LABEL,
  newNamespace,
  RELEASE,
  RELEASE_NAMESPACE,
  until,
} from './context.ts';
import { prometheusOperatorCrds } from './prometheus-operator.ts';
import { restoreRelease, upgradeRelease } from './release.ts';

const secretValue = async (name: string, key: string) =>
  Buffer.from(
    await kubectlOk(kubectl, [
      'get',
      'secret',
      name,
      '-n',
      RELEASE_NAMESPACE,
      '-o',
      `jsonpath={.data.${key.replace('.', '\\.')}}`,
    ]),
    'base64',
  ).toString('utf8');

/** The release's Service address. */
const serviceClusterIp = () =>
  kubectlOk(kubectl, ['get', 'service', RELEASE, '-n', RELEASE_NAMESPACE, '-o', 'jsonpath={.spec.clusterIP}']);

/**
 * A change to a locked ConfigMap is denied through the release's webhook (retried: the apiserver
 * loads configurations asynchronously).
 */
async function deniesThroughWebhook(): Promise<void> {
  const ns = await newNamespace('chart-probe');
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: ns, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
      data: { a: '1' },
    }),
  });
  await until(
    'a change to a locked ConfigMap is denied',
    async () =>
      isImmutabilityDenial(await kubectl(['patch', 'cm', 'c', '-n', ns, '-p', '{"data":{"a":"2"}}']))
        ? true
        : undefined,
    60_000,
  );
}

afterAll(async () => {
  await restoreRelease();
});

describe('helm test', () => {
  it(
    "passes: the test pod's dry-run change of the locked " + 'probe is denied by Bulwark through the apiserver',
    async () => {
      const { stdout } = await helm(['test', RELEASE, '-n', RELEASE_NAMESPACE, '--logs', '--timeout', '2m'], {
        timeoutMs: 150_000,
      });
      expect(stdout).toMatch(/TEST SUITE:\s+bulwark-test-denied-dry-run[\s\S]*Phase:\s+Succeeded/);
      expect(stdout).toContain(
        'denied, as it should be: admission webhook "immutability.bulwark.dev" denied the request: ' +
          'ClusterRole bulwark-probe is locked',
      );
    },
  );
});

describe('metrics', () => {
  it(
    'are served through the Service on port 443, with ' + "the certificate's expiry and every informer synced",
    async () => {
      const clusterIp = await serviceClusterIp();
      const ca = await secretValue(`${RELEASE}-tls`, 'ca.crt');
      const res = await httpsRequest(`https://${clusterIp}:443/metrics`, {
        ca,
        servername: `${RELEASE}.${RELEASE_NAMESPACE}.svc`,
      });
      expect(res.status).toBe(200);
      for (const informer of ['ImmutabilityPolicy', 'ImagePolicy', 'UnlockRequest', 'Namespace'])
        expect(res.body).toMatch(new RegExp(`bulwark_informer_synced\\{informer="${informer}"\\} 1`));
      const notAfter = Date.parse(new X509Certificate(await secretValue(`${RELEASE}-tls`, 'tls.crt')).validTo) / 1000;
      expect(res.body).toContain(`bulwark_tls_certificate_expiry_timestamp_seconds ${notAfter}`);
      for (const metric of [
        'bulwark_admission_reviews_total',
        'bulwark_admission_duration_seconds',
        'bulwark_image_verification_cache_total',
        'bulwark_registry_request_duration_seconds',
      ]) {
        expect(res.body).toContain(`# TYPE ${metric} `);
      }
      expect(res.body).not.toContain('decision="skip"');
    },
  );

  it(
    "a ServiceMonitor and PrometheusRule pass prometheus-operator's " +
      'CRDs, and the ServiceMonitor scrapes each pod as Prometheus would',
    async () => {
      const crds = await prometheusOperatorCrds();
      await kubectlOk(kubectl, ['apply', '--server-side', '-f', crds.serviceMonitors, '-f', crds.prometheusRules]);
      await kubectlOk(kubectl, [
        'wait',
        '--for=condition=Established',
        'crd/servicemonitors.monitoring.coreos.com',
        'crd/prometheusrules.monitoring.coreos.com',
        '--timeout=60s',
      ]);
      await upgradeRelease(['serviceMonitor.enabled=true', 'prometheusRule.enabled=true', 'metrics.policyLabel=true']);
      const monitor = await kubectlJson<{
        spec: {
          selector: { matchLabels: Record<string, string> };
          namespaceSelector: { matchNames: string[] };
          endpoints: {
            port: string;
            scheme: string;
            path: string;
            tlsConfig: { ca: { secret: { name: string; key: string } }; serverName: string };
          }[];
        };
      }>(['get', 'servicemonitor', RELEASE, '-n', RELEASE_NAMESPACE]);
      const rule = await kubectlJson<{ spec: { groups: { rules: { alert: string }[] }[] } }>([
        'get',
        'prometheusrule',
        RELEASE,
        '-n',
        RELEASE_NAMESPACE,
      ]);
      expect(rule.spec.groups[0]?.rules.map((r) => r.alert)).toContain('BulwarkDown');

      // Prometheus' service discovery: the Services the selector picks, the endpoints of the named port.
      const [endpoint] = monitor.spec.endpoints;
      const selector = Object.entries(monitor.spec.selector.matchLabels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      const services = await kubectlJson<{ items: { metadata: { name: string } }[] }>([
        'get',
        'services',
        '-n',
        monitor.spec.namespaceSelector.matchNames[0]!,
        '-l',
        selector,
      ]);
      expect(services.items.map((s) => s.metadata.name)).toEqual([RELEASE]);
      const slices = await kubectlJson<{
        items: {
          ports: { name: string; port: number }[];
          endpoints: { addresses: string[]; conditions: { ready: boolean } }[];
        }[];
      }>(['get', 'endpointslices', '-n', RELEASE_NAMESPACE, '-l', `kubernetes.io/service-name=${RELEASE}`]);
      const targets = slices.items.flatMap((s) =>
        s.endpoints
          .filter((e) => e.conditions.ready)
          .map((e) => `${e.addresses[0]}:${s.ports.find((p) => p.name === endpoint!.port)?.port}`),
      );
      expect(targets).toHaveLength(2);
      const ca = await secretValue(endpoint!.tlsConfig.ca.secret.name, endpoint!.tlsConfig.ca.secret.key);
      for (const target of targets) {
        const res = await httpsRequest(`${endpoint!.scheme}://${target}${endpoint!.path}`, {
          ca,
          servername: endpoint!.tlsConfig.serverName,
        });
        expect(res.status, target).toBe(200);
        expect(res.body).toContain('bulwark_informer_synced');
      }
    },
  );
});

describe('networks and security contexts', () => {
  it("hostNetwork: the pod answers on the node's address, and the webhook works through it", async () => {
    await upgradeRelease(['deployment.hostNetwork=true', 'deployment.replicas=1']);
    const running = await until(
      'one Bulwark pod left',
      async () => {
        const pods = await kubectlJson<{ items: { status: { podIP: string; hostIP: string } }[] }>([
          'get',
          'pods',
          '-n',
          RELEASE_NAMESPACE,
          '-l',
          'app.kubernetes.io/name=bulwark',
        ]);
        return pods.items.length === 1 ? pods.items : undefined;
      },
      90_000,
    );
    expect(running[0]?.status.podIP).toBe(running[0]?.status.hostIP);
    await deniesThroughWebhook();
  });

  it('another UID and group by securityContext (fixed IDs replaced, as on OpenShift), still serving', async () => {
    const uid = 1000650000;
    await upgradeRelease([
      `deployment.podSecurityContext.runAsUser=${uid}`,
      `deployment.podSecurityContext.runAsGroup=${uid}`,
      `deployment.podSecurityContext.fsGroup=${uid}`,
      'deployment.containerSecurityContext.runAsUser=null',
      'deployment.containerSecurityContext.runAsGroup=null',
    ]);
    const ids = await kubectlOk(kubectl, [
      'exec',
      '-n',
      RELEASE_NAMESPACE,
      `deployment/${RELEASE}`,
      '--',
      'node',
      '-e',
      'console.log(process.getuid(), process.getgid())',
    ]);
    expect(ids.trim()).toBe(`${uid} ${uid}`);
    await deniesThroughWebhook();
  });
});

describe('mutual TLS (tls.clientCa)', () => {
  it("the apiserver's reviews pass with its client certificate; a plain client fails the handshake", async () => {
    // The harness's apiserver presents webhook-client.crt to every webhook (its AdmissionConfiguration).
    const dir = fullCluster().dir;
    await upgradeRelease(['deployment.metricsPort=9090'], { files: [`tls.clientCa=${join(dir, WEBHOOK_CLIENT_CA)}`] });
    await deniesThroughWebhook();
    const options = {
      ca: await secretValue(`${RELEASE}-tls`, 'ca.crt'),
      servername: `${RELEASE}.${RELEASE_NAMESPACE}.svc`,
    };
    const cert = await readFile(join(dir, 'webhook-client.crt'), 'utf8');
    const key = await readFile(join(dir, 'webhook-client.key'), 'utf8');
    const plainRefused = async (url: string) =>
      httpsRequest(url, { ...options, method: 'POST', body: '{}' }).then(
        (res) => `served: HTTP ${res.status}`,
        (err: Error) => (/certificate|alert|socket hang up|ECONNRESET/i.test(err.message) ? 'refused' : err.message),
      );
    // Each pod of the new release, addressed directly: no Service in between to pick an old one.
    const pods = await kubectlJson<{
      items: { metadata: { deletionTimestamp?: string }; status: { podIP: string } }[];
    }>(['get', 'pods', '-n', RELEASE_NAMESPACE, '-l', 'app.kubernetes.io/name=bulwark']);
    const current = pods.items.filter((p) => !p.metadata.deletionTimestamp);
    expect(current.length).toBeGreaterThan(0);
    for (const pod of current) {
      const url = `https://${pod.status.podIP}:8443/validate`;
      expect(await plainRefused(url)).toBe('refused');
      const withCert = await httpsRequest(url, { ...options, method: 'POST', body: '{}', clientCert: { cert, key } });
      // Past the handshake: a review without a request is malformed, which is answered, not refused.
      expect(withCert.status).toBe(400);
    }
    // Through the Service as well, given a moment: in one CI run a plain client was served
    // through it right after the rollout. The likeliest cause, not confirmed, is kube-proxy
    // still sending a new connection to a terminating pod of the previous release.
    const url = `https://${await serviceClusterIp()}:443/validate`;
    await until(
      'the Service refuses a client without a certificate',
      async () => ((await plainRefused(url)) === 'refused' ? true : undefined),
      30_000,
    );
    const withCert = await httpsRequest(url, { ...options, method: 'POST', body: '{}', clientCert: { cert, key } });
    expect(withCert.status).toBe(400);
  });
});

describe('an upgrade that changes the CRDs', () => {
  it("applies the chart's new CRD to the cluster (helm upgrade, no separate step)", async () => {
    const chart = join(fullCluster().dir, `chart-crd-change-${Date.now()}`);
    await cp(CHART_DIR, chart, { recursive: true });
    const file = join(chart, 'files', 'crds', 'unlockrequests.bulwark.dev.yaml');
    const crd = parse(await readFile(file, 'utf8')) as {
      spec: { versions: { schema: { openAPIV3Schema: { description?: string } } }[] };
    };
    const marker = `Changed by an upgrade at ${new Date().toISOString()}.`;
    crd.spec.versions[0]!.schema.openAPIV3Schema.description = marker;
    await writeFile(file, stringify(crd));
    await upgradeRelease([], { chart });
    expect(
      await kubectlOk(kubectl, [
        'get',
        'crd',
        'unlockrequests.bulwark.dev',
        '-o',
        'jsonpath={.spec.versions[0].schema.openAPIV3Schema.description}',
      ]),
    ).toBe(marker);
    await restoreRelease();
    expect(
      await kubectlOk(kubectl, [
        'get',
        'crd',
        'unlockrequests.bulwark.dev',
        '-o',
        'jsonpath={.spec.versions[0].schema.openAPIV3Schema.description}',
      ]),
    ).not.toBe(marker);
  });
});
