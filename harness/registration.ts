// Registers the webhook with the apiserver and waits until it is really in force. The
// apiserver loads webhook configurations asynchronously (an informer), so "applied"
// is not "enforced": a server-side dry-run change of a locked probe ConfigMap is
// retried until Bulwark denies it.
//
// The probe namespace and ConfigMap stay: a locked object cannot be deleted while the
// webhook is registered, and the whole cluster is thrown away at the end anyway. Tests
// clean up the same way: only unlocked objects can be deleted, or the webhook
// configuration is removed first (webhooks never see their own configurations).

import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { kubectlOk, type Kubectl, type KubectlResult } from './kubectl.ts';

export const WEBHOOK_CONFIGURATION = 'bulwark-e2e';
export const WEBHOOK_NAME = 'immutability.bulwark.dev';
/** Bulwark's mutating webhook: it attests approvals on UnlockRequests, and touches nothing else. */
export const MUTATING_CONFIGURATION = 'bulwark-e2e-attest';
export const MUTATING_WEBHOOK_NAME = 'attest.bulwark.dev';
/** Bulwark's namespace in the harness: where it keeps its attestation keys. */
export const BULWARK_NAMESPACE = 'bulwark-harness';
export const PROBE_NAMESPACE = 'bulwark-probe';
export const PROBE_CONFIGMAP = 'bulwark-probe';
export const LOCK_LABEL = { key: 'bulwark.dev/immutable', value: 'true' } as const;

/** One webhook configuration of one entry, with what every entry of Bulwark's shares. */
function configuration(
  kind: 'ValidatingWebhookConfiguration' | 'MutatingWebhookConfiguration',
  name: string,
  webhook: Record<string, unknown> & { url: string; caPem: string; rule: Record<string, unknown> },
): Record<string, unknown> {
  const { url, caPem, rule, ...rest } = webhook;
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind,
    metadata: { name },
    webhooks: [
      {
        clientConfig: { url, caBundle: Buffer.from(caPem).toString('base64') },
        rules: [{ apiVersions: ['*'], scope: '*', ...rule }],
        failurePolicy: 'Fail',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        matchPolicy: 'Equivalent',
        timeoutSeconds: 10,
        ...rest,
      },
    ],
  };
}

export function webhookConfiguration(url: string, caPem: string): Record<string, unknown> {
  return configuration('ValidatingWebhookConfiguration', WEBHOOK_CONFIGURATION, {
    name: WEBHOOK_NAME,
    url,
    caPem,
    // '*/*' is every resource and every subresource; the API refuses it next to '*'.
    rule: { apiGroups: ['*'], resources: ['*/*'], operations: ['CREATE', 'UPDATE', 'DELETE'] },
    // Bulwark writes on the request path (a lock admitted into a namespace removes the
    // namespace's bulwark.dev/locks mark), never on a dry run.
    sideEffects: 'NoneOnDryRun',
    // kube-system stays reachable whatever happens to the webhook.
    namespaceSelector: {
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }],
    },
  });
}

/** As the chart registers it: UnlockRequest writes only, so approvals are attested when Bulwark admits them. */
export function mutatingWebhookConfiguration(url: string, caPem: string): Record<string, unknown> {
  return configuration('MutatingWebhookConfiguration', MUTATING_CONFIGURATION, {
    name: MUTATING_WEBHOOK_NAME,
    url: url.replace(/\/validate$/, '/mutate'),
    caPem,
    rule: {
      apiGroups: ['bulwark.dev'],
      resources: ['unlockrequests', 'localunlockrequests'],
      operations: ['CREATE', 'UPDATE'],
    },
    reinvocationPolicy: 'Never',
  });
}

export async function registerWebhook(kubectl: Kubectl, url: string, caPem: string): Promise<void> {
  // The mutating one first: once the validating one denies, both are loaded.
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: stringify(mutatingWebhookConfiguration(url, caPem)) });
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: stringify(webhookConfiguration(url, caPem)) });
}

/** Creates the locked probe ConfigMap (before the webhook is registered: creating is always allowed). */
export async function createProbe(kubectl: Kubectl): Promise<void> {
  await kubectlOk(kubectl, ['create', 'namespace', PROBE_NAMESPACE]);
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: PROBE_CONFIGMAP, namespace: PROBE_NAMESPACE, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
    data: { probe: 'original' },
  };
  await kubectlOk(kubectl, ['create', '-f', '-'], { input: stringify(configMap) });
}

/**
 * An immutability denial, not just any: a webhook that fails closed on an internal
 * error also denies, and a cluster whose Bulwark cannot decide must not pass as ready.
 */
export function isImmutabilityDenial(result: KubectlResult): boolean {
  return (
    result.code !== 0 &&
    /admission webhook .* denied the request/.test(result.stderr) &&
    / is locked \(labelled /.test(result.stderr) &&
    !/could not decide/.test(result.stderr)
  );
}

/** Retries a dry-run change of the probe until the webhook denies it; returns the attempts made. */
export async function waitForDenial(kubectl: Kubectl, deadlineMs = 30_000): Promise<number> {
  const deadline = Date.now() + deadlineMs;
  let attempts = 0;
  let last: KubectlResult | undefined;
  while (Date.now() < deadline) {
    attempts += 1;
    last = await kubectl([
      'patch',
      'configmap',
      PROBE_CONFIGMAP,
      '--namespace',
      PROBE_NAMESPACE,
      '--type=merge',
      '--patch',
      JSON.stringify({ data: { probe: `changed-${attempts}` } }),
      '--dry-run=server',
    ]);
    if (isImmutabilityDenial(last)) return attempts;
    await sleep(100);
  }
  throw new Error(
    `no immutability denial within ${deadlineMs / 1000} s (${attempts} attempts); last kubectl patch: ` +
      `exit ${last?.code}, ${last?.stderr.trim() || 'allowed'}`,
  );
}
