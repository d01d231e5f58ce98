// The attacker's window: the webhook configuration removed for a moment (by someone who
// may, or while Bulwark is being reinstalled), during which the apiserver stores whatever
// its schemas allow. Restored afterwards, and proven to deny again, whatever happened.

import { kubectl, WEBHOOK_CONFIGURATION } from '../../../harness/context.ts';
import { kubectlOk } from '../../../harness/kubectl.ts';
import { waitForDenial } from '../../../harness/registration.ts';
import { until } from './plugin.ts';

/** Removes the webhook configuration, retries `write` until it succeeds unchecked, then restores the configuration. */
export async function whileWebhookIsAway(write: () => Promise<boolean>): Promise<void> {
  const config = JSON.parse(
    await kubectlOk(kubectl, ['get', 'validatingwebhookconfiguration', WEBHOOK_CONFIGURATION, '-o', 'json']),
  );
  for (const key of ['resourceVersion', 'uid', 'creationTimestamp', 'generation', 'managedFields'])
    delete config.metadata[key];
  await kubectlOk(kubectl, ['delete', 'validatingwebhookconfiguration', WEBHOOK_CONFIGURATION]);
  try {
    await until(write, 15_000);
  } finally {
    await kubectlOk(kubectl, ['create', '-f', '-'], { input: JSON.stringify(config) });
    await waitForDenial(kubectl);
  }
}
