// `kubectl bulwark status`'s drift section: what the drift audit reported (its PolicyReports
// `bulwark-drift`), in the namespace and cluster-wide. Without the wgpolicyk8s.io CRD the audit
// reports through Events only, and this says so. Running Pods whose images no longer pass
// (policy bulwark-images, ledger/running-pods.ts) come after, counted by result.

import { BaseError } from '../../errors.ts';
import { IMAGES_POLICY, REPORT_NAME } from '../../ledger/report.ts';
import { TIMEOUT_MS, type Session } from './session.ts';

export async function printDrift(session: Session, allNamespaces: boolean, print: (line: string) => void) {
  const base = '/apis/wgpolicyk8s.io/v1alpha2';
  const paths = [
    allNamespaces ? `${base}/policyreports` : `${base}/namespaces/${session.namespace}/policyreports`,
    `${base}/clusterpolicyreports`,
  ];
  const found: string[] = [];
  const pods: PodLine[] = [];
  for (const path of paths) {
    // Without the CRD the apiserver answers 404 with a plain-text body, which the client refuses as not JSON.
    const res = await session.client
      .call('GET', `${path}?fieldSelector=metadata.name%3D${REPORT_NAME}`, { timeoutMs: TIMEOUT_MS })
      .catch((err: unknown) => {
        if (err instanceof BaseError && err.code === 'KUBE_API_BAD_RESPONSE') return { status: 404, body: undefined };
        throw err;
      });
    if (res.status === 404) {
      print(
        'Drift: no PolicyReport CRD (wgpolicyk8s.io) installed; see Events with reason BulwarkDrift ' +
          '(running Pods whose images no longer pass: BulwarkImageFailing)',
      );
      return;
    }
    if (res.status !== 200) continue;
    for (const report of (res.body as { items?: { results?: ReportResult[] }[] }).items ?? [])
      for (const r of report.results ?? []) {
        if (r.policy === IMAGES_POLICY) pods.push(podLine(r));
        else found.push(`${r.rule}: ${r.message}`);
      }
  }
  print('Drift (found by the audit):');
  for (const line of found.sort()) print(`  ${line}`);
  if (found.length === 0) print('  (none)');
  printPods(pods, print);
}

interface ReportResult {
  policy?: string;
  rule?: string;
  result?: string;
  message?: string;
  resources?: { namespace?: string; name?: string; uid?: string }[];
}

interface PodLine {
  result: string;
  pod: string;
  line: string;
}

const podLine = (r: ReportResult): PodLine => {
  const resource = r.resources?.[0];
  const pod = `${resource?.namespace}/${resource?.name}`;
  const result = r.result ?? 'fail';
  return { result, pod, line: `${result} Pod ${pod}: ${r.message}` };
};

/** The count of Pods by their worst result, then one line per image: fail, then error, then warn. */
function printPods(results: readonly PodLine[], print: (line: string) => void) {
  const worst = new Map<string, string>();
  const rank = (r: string | undefined) => ['warn', 'error', 'fail'].indexOf(r ?? '');
  for (const { result, pod } of results) if (rank(result) > rank(worst.get(pod))) worst.set(pod, result);
  const count = (r: string) => [...worst.values()].filter((w) => w === r).length;
  print(
    `Running Pods whose images no longer pass: ${count('fail')} failing, ${count('error')} unverifiable` +
      `${count('warn') > 0 ? `, ${count('warn')} warned` : ''}`,
  );
  const order = (a: PodLine, b: PodLine) => rank(b.result) - rank(a.result) || a.line.localeCompare(b.line);
  for (const { line } of [...results].sort(order)) print(`  ${line}`);
}
