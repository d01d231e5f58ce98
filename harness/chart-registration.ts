// The chart's own webhook entries for the harness's local Bulwark, instead of the catch-all
// registration (registration.ts): `helm template` of templates/webhook.yaml with webhook.url
// pointing at the local process, named like the harness's configurations so that tests and
// the self-protection policy find them. Chosen with BULWARK_E2E_REGISTRATION=chart
// (`npm run test:e2e-chart`): the e2e suites then run against what `helm install` registers
// (entries, selectors, namespace marks and matchConditions), not only the catch-all.

import { renderChart } from './helm-template.ts';
import { kubectlOk, type Kubectl } from './kubectl.ts';
import { BULWARK_NAMESPACE, WEBHOOK_CONFIGURATION } from './registration.ts';

/** Whether this run registers the chart's entries (BULWARK_E2E_REGISTRATION=chart). */
export const chartRegistration = () => process.env.BULWARK_E2E_REGISTRATION === 'chart';

/** The chart's Validating- and MutatingWebhookConfiguration, calling `url`, as YAML. */
export function renderChartWebhooks(url: string, caPem: string): Promise<string> {
  return renderChart({
    release: WEBHOOK_CONFIGURATION,
    // Bulwark's namespace in the harness is the release namespace: excluded, as in a cluster.
    namespace: BULWARK_NAMESPACE,
    showOnly: ['templates/webhook.yaml'],
    set: [
      `fullnameOverride=${WEBHOOK_CONFIGURATION}`,
      'deployment.enabled=false',
      `webhook.url=${url}`,
      'tls.mode=secret',
      'tls.secret.name=unused',
    ],
    setString: [`tls.secret.caBundle=${caPem}`],
  });
}

export async function registerChartWebhooks(kubectl: Kubectl, url: string, caPem: string): Promise<void> {
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: await renderChartWebhooks(url, caPem) });
}
