// Key material of a throwaway cluster: the apiserver's serving certificate (and the CA
// that kubeconfigs trust), the webhook's serving certificate (and the CA that goes into
// the caBundle), and the service-account token signing key pair. Everything is written
// under the cluster directory with owner-only permissions.

import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateCertificates } from '../src/server/certificates.ts';

export interface ServingFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  caPem: string;
}

export interface ClusterPki {
  apiserver: ServingFiles;
  webhook: ServingFiles;
  serviceAccountPublicKeyFile: string;
  serviceAccountPrivateKeyFile: string;
}

async function writeServing(
  dir: string,
  name: string,
  dnsNames: string[],
  ipAddresses: string[],
): Promise<ServingFiles> {
  const generated = await generateCertificates({ dnsNames, ipAddresses, commonName: name, validDays: 30 });
  const files = {
    caFile: join(dir, `${name}-ca.crt`),
    certFile: join(dir, `${name}.crt`),
    keyFile: join(dir, `${name}.key`),
  };
  await writeFile(files.caFile, generated.caCertPem, { mode: 0o600 });
  await writeFile(files.certFile, generated.certPem, { mode: 0o600 });
  await writeFile(files.keyFile, generated.keyPem, { mode: 0o600 });
  return { ...files, caPem: generated.caCertPem };
}

export interface PkiOptions {
  /** More names for the apiserver's certificate: in a full cluster, pods reach it by its Service IP and name. */
  apiserverIps?: string[];
  apiserverDnsNames?: string[];
}

export async function writeClusterPki(dir: string, options: PkiOptions = {}): Promise<ClusterPki> {
  const [apiserver, webhook] = await Promise.all([
    writeServing(
      dir,
      'apiserver',
      ['localhost', ...(options.apiserverDnsNames ?? [])],
      ['127.0.0.1', ...(options.apiserverIps ?? [])],
    ),
    // The apiserver calls the webhook by URL https://127.0.0.1:PORT, so an IP SAN is what it checks.
    writeServing(dir, 'webhook', ['localhost'], ['127.0.0.1']),
  ]);
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const serviceAccountPublicKeyFile = join(dir, 'service-account.pub');
  const serviceAccountPrivateKeyFile = join(dir, 'service-account.key');
  await writeFile(serviceAccountPublicKeyFile, publicKey, { mode: 0o600 });
  await writeFile(serviceAccountPrivateKeyFile, privateKey, { mode: 0o600 });
  return { apiserver, webhook, serviceAccountPublicKeyFile, serviceAccountPrivateKeyFile };
}
