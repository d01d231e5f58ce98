// The apiserver's client certificate for admission webhooks, for Bulwark's optional mutual
// TLS (--client-ca). Kubernetes takes webhook client credentials from the admission
// configuration file: for each admission plugin a kubeconfig whose users are named by the
// webhook's host[:port] (`*` for any). Every webhook of the cluster is offered this
// certificate; one that asks for none (the harness's own Bulwark) simply does not get it.
// Files: webhook-client-ca.crt (what `bulwark serve --client-ca` trusts), webhook-client.crt/.key.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeClientCert, type ClientCertFiles } from './node/client-cert.ts';

export const WEBHOOK_CLIENT_CA = 'webhook-client-ca.crt';

/** Writes the certificate, its kubeconfig and the AdmissionConfiguration; returns the apiserver's flag. */
export async function writeWebhookClientConfig(dir: string): Promise<{ files: ClientCertFiles; args: string[] }> {
  const files = await writeClientCert(dir, 'webhook-client', 'CN=kube-apiserver-webhook-client');
  const kubeconfig = join(dir, 'webhook-client.kubeconfig');
  await writeFile(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      users: [{ name: '*', user: { 'client-certificate': files.certFile, 'client-key': files.keyFile } }],
    }),
    { mode: 0o600 },
  );
  const plugin = (name: string) => ({
    name,
    configuration: {
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'WebhookAdmissionConfiguration',
      kubeConfigFile: kubeconfig,
    },
  });
  const admission = join(dir, 'admission-configuration.yaml');
  await writeFile(
    admission,
    stringify({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'AdmissionConfiguration',
      plugins: [plugin('ValidatingAdmissionWebhook'), plugin('MutatingAdmissionWebhook')],
    }),
    { mode: 0o600 },
  );
  return { files, args: [`--admission-control-config-file=${admission}`] };
}
