// The chart's own webhook entries for the harness's local Bulwark, instead of the catch-all
// registration (registration.ts): `helm template` of templates/webhook.yaml with webhook.url
// pointing at the local process, named like the harness's configurations so that tests and
// the self-protection policy find them. Chosen with BULWARK_E2E_REGISTRATION=chart
// (`npm run test:e2e-chart`): the e2e suites then run against what `helm install` registers
// (entries, selectors, namespace marks and matchConditions), not only the catch-all.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { kubectlOk, type Kubectl } from './kubectl.ts';
import { REPO_ROOT } from './paths.ts';
import { BULWARK_NAMESPACE, WEBHOOK_CONFIGURATION } from './registration.ts';
import { locateTools } from './tools.ts';

const run = promisify(execFile);

/** Whether this run registers the chart's entries (BULWARK_E2E_REGISTRATION=chart). */
export const chartRegistration = () => process.env.BULWARK_E2E_REGISTRATION === 'chart';

/** The chart's Validating- and MutatingWebhookConfiguration, calling `url`, as YAML. */
export async function renderChartWebhooks(url: string, caPem: string): Promise<string> {
  const { helm } = await locateTools(['helm']);
  const { stdout } = await run(
    helm,
    [
      'template',
      WEBHOOK_CONFIGURATION,
      join(REPO_ROOT, 'charts', 'bulwark'),
      // Bulwark's namespace in the harness is the release namespace: excluded, as in a cluster.
      '--namespace',
      BULWARK_NAMESPACE,
      '--kube-version',
      'v1.36.3',
      '--show-only',
      'templates/webhook.yaml',
      '--set',
      `fullnameOverride=${WEBHOOK_CONFIGURATION}`,
      '--set',
      'deployment.enabled=false',
      '--set',
      `webhook.url=${url}`,
      '--set',
      'tls.mode=secret',
      '--set',
      'tls.secret.name=unused',
      '--set-string',
      `tls.secret.caBundle=${caPem}`,
    ],
    { cwd: REPO_ROOT },
  );
  return stdout;
}

export async function registerChartWebhooks(kubectl: Kubectl, url: string, caPem: string): Promise<void> {
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: await renderChartWebhooks(url, caPem) });
}
