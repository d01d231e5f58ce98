// `kubectl bulwark status`'s drift section: what the drift audit reported (its PolicyReports
// `bulwark-drift`), in the namespace and cluster-wide. Without the wgpolicyk8s.io CRD the audit
// reports through Events only, and this says so.

import { BaseError } from '../../errors.ts';
import { REPORT_NAME } from '../../ledger/report.ts';
import { TIMEOUT_MS, type Session } from './session.ts';

export async function printDrift(session: Session, allNamespaces: boolean, print: (line: string) => void) {
  const base = '/apis/wgpolicyk8s.io/v1alpha2';
  const paths = [
    allNamespaces ? `${base}/policyreports` : `${base}/namespaces/${session.namespace}/policyreports`,
    `${base}/clusterpolicyreports`,
  ];
  const found: string[] = [];
  for (const path of paths) {
    // Without the CRD the apiserver answers 404 with a plain-text body, which the client refuses as not JSON.
    const res = await session.client
      .call('GET', `${path}?fieldSelector=metadata.name%3D${REPORT_NAME}`, { timeoutMs: TIMEOUT_MS })
      .catch((err: unknown) => {
        if (err instanceof BaseError && err.code === 'KUBE_API_BAD_RESPONSE') return { status: 404, body: undefined };
        throw err;
      });
    if (res.status === 404) {
      print('Drift: no PolicyReport CRD (wgpolicyk8s.io) installed; see Events with reason BulwarkDrift');
      return;
    }
    if (res.status !== 200) continue;
    for (const report of (res.body as { items?: { results?: { rule?: string; message?: string }[] }[] }).items ?? [])
      for (const r of report.results ?? []) found.push(`${r.rule}: ${r.message}`);
  }
  print('Drift (found by the audit):');
  for (const line of found.sort()) print(`  ${line}`);
  if (found.length === 0) print('  (none)');
}
