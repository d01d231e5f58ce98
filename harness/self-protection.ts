// The chart's self-protection, installed into the harness cluster: the same
// ValidatingAdmissionPolicy `helm install` makes (rendered from the chart with the real
// helm), guarding the harness's webhook configuration, the bulwark.dev CRDs and policies
// against everyone but the policy admins Bulwark is started with. Bulwark runs outside
// the cluster here, so the release namespace it would also guard holds nothing.

import { setTimeout as sleep } from 'node:timers/promises';
import { renderChart } from './helm-template.ts';
import { kubectlOk, type Kubectl, type KubectlResult } from './kubectl.ts';
import { WEBHOOK_CONFIGURATION } from './registration.ts';

/** Who Bulwark (--policy-admin-groups) and its self-protection treat as admins. */
export const POLICY_ADMIN_GROUPS = ['system:masters', 'policy-admins'] as const;
/** Named after the webhook configuration, as the chart names both after the release. */
export const SELF_PROTECTION = `${WEBHOOK_CONFIGURATION}-self-protection`;
/** The release namespace the chart would guard; nothing runs there in the harness. */
export const SELF_PROTECTION_NAMESPACE = 'bulwark-e2e-system';
/** What every denial of the policy starts with. */
export const SELF_PROTECTION_DENIAL = 'Bulwark self-protection: only the policy admins';

/** The chart's ValidatingAdmissionPolicy and binding for the harness, as YAML. */
export function renderSelfProtection(): Promise<string> {
  return renderChart({
    release: WEBHOOK_CONFIGURATION,
    namespace: SELF_PROTECTION_NAMESPACE,
    // The namespace marks' guard too (only Bulwark and the policy admins set a mark).
    showOnly: ['templates/self-protection.yaml', 'templates/namespace-marks.yaml'],
    set: [`fullnameOverride=${WEBHOOK_CONFIGURATION}`, `policyAdmins.groups={${POLICY_ADMIN_GROUPS.join(',')}}`],
  });
}

/** A dry-run delete of the webhook configuration by alice: what the policy must refuse. */
export function probeSelfProtection(kubectl: Kubectl): Promise<KubectlResult> {
  return kubectl(['delete', 'validatingwebhookconfiguration', WEBHOOK_CONFIGURATION, '--dry-run=server'], {
    user: 'alice',
  });
}

/**
 * Applies the policy and waits until it is in force: like webhook configurations,
 * admission policies are loaded asynchronously (about a second on this apiserver).
 */
export async function installSelfProtection(kubectl: Kubectl, deadlineMs = 30_000): Promise<void> {
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: await renderSelfProtection() });
  const deadline = Date.now() + deadlineMs;
  let last: KubectlResult | undefined;
  while (Date.now() < deadline) {
    last = await probeSelfProtection(kubectl);
    if (last.code !== 0 && last.stderr.includes(SELF_PROTECTION_DENIAL)) return;
    await sleep(100);
  }
  throw new Error(
    `self-protection not in force within ${deadlineMs / 1000} s; last dry-run delete by alice: ` +
      `exit ${last?.code}, ${last?.stderr.trim() || 'allowed'}`,
  );
}
