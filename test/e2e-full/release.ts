// Changing the helm release under test, and putting it back: tests that need other values
// upgrade with them and restore the chart's defaults afterwards (with the image the run
// built), so every test file starts from the release a fresh cluster has.

import { kubectlOk } from '../../harness/kubectl.ts';
import { CHART_DIR, fullCluster, helm, kubectl, RELEASE, RELEASE_NAMESPACE } from './context.ts';

const imageValues = () => [
  '--set',
  `image.repository=${fullCluster().image.repository}`,
  '--set',
  `image.tag=${fullCluster().image.tag}`,
];

/**
 * `helm upgrade --reset-values` to the chart's defaults plus `values` (`key=value`) and `files`
 * (`key=path`, --set-file), waiting for the rollout.
 */
export async function upgradeRelease(
  values: string[] = [],
  options: { chart?: string; wait?: boolean; files?: string[] } = {},
): Promise<void> {
  await helm(
    [
      'upgrade',
      RELEASE,
      options.chart ?? CHART_DIR,
      '--namespace',
      RELEASE_NAMESPACE,
      '--reset-values',
      ...imageValues(),
      ...values.flatMap((v) => ['--set', v]),
      ...(options.files ?? []).flatMap((f) => ['--set-file', f]),
      ...(options.wait === false ? [] : ['--wait', '--timeout', '4m']),
    ],
    { timeoutMs: 260_000 },
  );
  if (options.wait !== false)
    await kubectlOk(
      kubectl,
      ['rollout', 'status', `deployment/${RELEASE}`, '-n', RELEASE_NAMESPACE, '--timeout=200s'],
      { timeoutMs: 210_000 },
    );
}

/** The chart's defaults again. */
export const restoreRelease = () => upgradeRelease();

/** `helm install` of the release with the chart's defaults (after a test uninstalled it). */
export async function installRelease(): Promise<void> {
  await helm(
    ['install', RELEASE, CHART_DIR, '--namespace', RELEASE_NAMESPACE, ...imageValues(), '--wait', '--timeout', '4m'],
    { timeoutMs: 260_000 },
  );
}
