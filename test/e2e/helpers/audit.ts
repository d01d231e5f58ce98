// What the audit loop publishes, read back as users read it: the results of a namespace's
// PolicyReport `bulwark-drift` (drift, unreviewed unlocks, running Pods' images) and the
// local Bulwark's /metrics.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { e2eCluster, kubectl } from '../../../harness/context.ts';
import { kubectlOk } from '../../../harness/kubectl.ts';
import { httpsRequest } from '../../helpers/https.ts';

export interface ReportResult {
  policy: string;
  rule: string;
  result: string;
  message: string;
  resources: { name: string; uid?: string }[];
  properties?: Record<string, string>;
}

/** The namespace report's results; none while it does not exist. */
export async function reportResults(namespace: string): Promise<ReportResult[]> {
  const r = await kubectl(['get', 'policyreports.wgpolicyk8s.io', 'bulwark-drift', '-n', namespace, '-o', 'json']);
  return r.code === 0 ? ((JSON.parse(r.stdout).results ?? []) as ReportResult[]) : [];
}

/** The Events of one reason about one object (by uid), as `kubectl get events` lists them. */
export async function eventsAbout(
  namespace: string,
  uid: string,
  reason: string,
): Promise<{ type: string; message: string }[]> {
  const selector = `involvedObject.uid=${uid},reason=${reason}`;
  const out = await kubectlOk(kubectl, ['get', 'events', '-n', namespace, '--field-selector', selector, '-o', 'json']);
  return JSON.parse(out).items;
}

/** The text of the local Bulwark's /metrics. */
export async function webhookMetrics(): Promise<string> {
  const { body } = await httpsRequest(`https://127.0.0.1:${e2eCluster().webhookPort}/metrics`, {
    ca: readFileSync(join(e2eCluster().dir, 'webhook-ca.crt')),
  });
  return body;
}
