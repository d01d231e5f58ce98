// `helm template` of the repository's chart with the pinned helm, for the harness and the
// e2e tests that install pieces of the chart (its webhook entries, self-protection, the
// Lease guard, the people roles) into a cluster where Bulwark is not helm-installed. The
// Kubernetes version is the one the e2e cluster runs (versions.env), not helm's default.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readVersions } from './node/versions.ts';
import { REPO_ROOT } from './paths.ts';
import { locateTools } from './tools.ts';

const run = promisify(execFile);

export const CHART_DIR = join(REPO_ROOT, 'charts', 'bulwark');

export interface ChartRender {
  /** Release name (default `bulwark`). */
  release?: string;
  namespace?: string;
  /** Templates to render, e.g. `templates/webhook.yaml` (default: all). */
  showOnly?: readonly string[];
  /** `key=value` pairs for --set. */
  set?: readonly string[];
  /** `key=value` pairs for --set-string. */
  setString?: readonly string[];
}

/** The rendered manifests, as YAML. */
export async function renderChart(options: ChartRender = {}): Promise<string> {
  const { helm } = await locateTools(['helm']);
  const { stdout } = await run(
    helm,
    [
      'template',
      options.release ?? 'bulwark',
      CHART_DIR,
      ...(options.namespace ? ['--namespace', options.namespace] : []),
      '--kube-version',
      readVersions().KUBE_VERSION,
      ...(options.showOnly ?? []).flatMap((t) => ['--show-only', t]),
      ...(options.set ?? []).flatMap((s) => ['--set', s]),
      ...(options.setString ?? []).flatMap((s) => ['--set-string', s]),
    ],
    { cwd: REPO_ROOT, maxBuffer: 32 * 1024 * 1024 },
  );
  return stdout;
}
