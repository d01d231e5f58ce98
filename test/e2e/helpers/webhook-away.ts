// The attacker's window: Bulwark's webhook configurations removed for a moment (by someone
// who may, or while Bulwark is being reinstalled), during which the apiserver stores
// whatever its schemas allow, and approvals get no attestation. Restored afterwards, and
// proven to deny again, whatever happened.

import { kubectl, WEBHOOK_CONFIGURATION } from '../../../harness/context.ts';
import { kubectlOk } from '../../../harness/kubectl.ts';
import { MUTATING_CONFIGURATION, waitForDenial } from '../../../harness/registration.ts';
import { until } from './plugin.ts';

const CONFIGURATIONS = [
  ['validatingwebhookconfiguration', WEBHOOK_CONFIGURATION],
  ['mutatingwebhookconfiguration', MUTATING_CONFIGURATION],
] as const;

/** Removes the webhook configurations, retries `write` until it succeeds unchecked, then restores them. */
export async function whileWebhookIsAway(write: () => Promise<boolean>): Promise<void> {
  const saved: unknown[] = [];
  for (const [kind, name] of CONFIGURATIONS) {
    const config = JSON.parse(await kubectlOk(kubectl, ['get', kind, name, '-o', 'json']));
    for (const key of ['resourceVersion', 'uid', 'creationTimestamp', 'generation', 'managedFields'])
      delete config.metadata[key];
    saved.push(config);
  }
  for (const [kind, name] of CONFIGURATIONS) await kubectlOk(kubectl, ['delete', kind, name]);
  try {
    await until(write, 15_000);
  } finally {
    // The mutating one first: once the validating one denies again, both are in force.
    for (const config of saved.reverse())
      await kubectlOk(kubectl, ['create', '-f', '-'], { input: JSON.stringify(config) });
    await waitForDenial(kubectl);
  }
}
