// Renders manifests/bulwark.yaml from the Helm chart, for `kubectl apply -f manifests/`
// users: the namespace first, then the chart with its defaults (the CRDs included)
// except TLS, which comes from cert-manager (a generated CA would put one private key,
// the same for everybody, into a file in this repository), and without the `helm test`
// probe and pod (hooks mean nothing to kubectl).
//
//   npm run render-manifests            rewrite manifests/bulwark.yaml
//   npm run render-manifests -- --check exit 1 when it differs from the chart (a unit test does the same)

import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../harness/paths.ts';
import { locateTools } from '../harness/tools.ts';

const run = promisify(execFile);

export const MANIFEST_FILE = join(REPO_ROOT, 'manifests', 'bulwark.yaml');
export const MANIFEST_NAMESPACE = 'bulwark-system';
const CHART_DIR = join(REPO_ROOT, 'charts', 'bulwark');
/** Fixed, so that the output depends on the chart alone. */
const KUBE_VERSION = 'v1.36.3';

export const HELM_ARGS = [
  'template',
  'bulwark',
  CHART_DIR,
  '--namespace',
  MANIFEST_NAMESPACE,
  '--kube-version',
  KUBE_VERSION,
  '--set',
  'tls.mode=certManager',
  '--set',
  'tests.enabled=false',
];

const HEADER = `# Bulwark for \`kubectl apply -f manifests/\`. Generated from charts/bulwark by
# \`npm run render-manifests\`; do not edit (a unit test fails when this file and the
# chart differ). Settings: the chart's defaults, namespace ${MANIFEST_NAMESPACE}, tls.mode=certManager,
# tests.enabled=false. One step: \`kubectl apply --server-side -f manifests/bulwark.yaml\`
# (the namespace comes first, then the CRDs and everything else).
#
# Prerequisite: cert-manager (cert-manager.io/v1), installed first: it issues Bulwark's
# serving certificate and injects its CA into the webhook configuration. Until it has,
# calls to the webhook fail and are denied (failurePolicy Fail) for labelled objects, pods
# and the other requests the webhook entries name. Without cert-manager, install with the
# Helm chart instead (charts/bulwark/README.md): it generates a CA for each install.
`;

const NAMESPACE = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: {
    name: MANIFEST_NAMESPACE,
    labels: {
      'app.kubernetes.io/name': 'bulwark',
      // Bulwark's pod meets the restricted Pod Security Standard; hold the namespace to it.
      'pod-security.kubernetes.io/enforce': 'restricted',
    },
  },
};

/** The text manifests/bulwark.yaml must have. */
export async function renderManifests(helmPath?: string): Promise<string> {
  const helm = helmPath ?? (await locateTools(['helm'])).helm;
  const { stdout } = await run(helm, HELM_ARGS, { cwd: REPO_ROOT, maxBuffer: 32 * 1024 * 1024 });
  // The namespace first, before anything in it.
  const rendered = stdout.replace(/^---\n/, '');
  if (!/^# Source: bulwark\/templates\//m.test(rendered)) throw new Error('helm template printed no templates');
  const namespaceDoc = `# Source: scripts/render-manifests.ts\n${stringify(NAMESPACE)}---\n`;
  return `${HEADER}---\n${namespaceDoc}${rendered}`;
}

if (import.meta.main) {
  const text = await renderManifests();
  if (process.argv.includes('--check')) {
    if (readFileSync(MANIFEST_FILE, 'utf8') !== text) {
      console.error(`${MANIFEST_FILE} differs from the chart: run npm run render-manifests`);
      process.exit(1);
    }
    console.log(`${MANIFEST_FILE} matches the chart`);
  } else {
    writeFileSync(MANIFEST_FILE, text);
    console.log(`wrote ${MANIFEST_FILE}`);
  }
}
