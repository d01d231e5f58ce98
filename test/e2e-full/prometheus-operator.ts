// prometheus-operator's CustomResourceDefinitions, as its Go module ships them (fetched
// from the Go module proxy into the module cache, pinned in versions.env): the real
// schemas a ServiceMonitor and a PrometheusRule from the chart must pass. No operator
// runs here; tests act as Prometheus would.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readVersions } from '../../harness/node/versions.ts';

const run = promisify(execFile);
const MODULE = 'github.com/prometheus-operator/prometheus-operator';

/** Paths of the ServiceMonitor and PrometheusRule CRDs of the pinned prometheus-operator. */
export async function prometheusOperatorCrds(): Promise<{ serviceMonitors: string; prometheusRules: string }> {
  const version = readVersions().PROMETHEUS_OPERATOR_VERSION;
  if (!version) throw new Error('test/e2e/tools/versions.env has no PROMETHEUS_OPERATOR_VERSION');
  const { stdout } = await run('go', ['mod', 'download', '-json', `${MODULE}@${version}`], {
    cwd: '/',
    env: { ...process.env, GOFLAGS: '-mod=mod', GO111MODULE: 'on' },
    timeout: 300_000,
    maxBuffer: 4 * 1024 * 1024,
  });
  const { Dir: dir, Error: error } = JSON.parse(stdout) as { Dir?: string; Error?: string };
  if (!dir) throw new Error(`go mod download ${MODULE}@${version}: ${error ?? stdout}`);
  const crds = join(dir, 'example', 'prometheus-operator-crd');
  return {
    serviceMonitors: join(crds, 'monitoring.coreos.com_servicemonitors.yaml'),
    prometheusRules: join(crds, 'monitoring.coreos.com_prometheusrules.yaml'),
  };
}
