// kube-apiserver as a local process. There is no controller-manager, scheduler or
// kubelet: objects are stored and admitted, nothing reconciles them (pods stay
// Pending, namespaces stay Terminating). Admission is what the e2e suite tests.

import { join } from 'node:path';
import type { ClusterPki } from './pki.ts';
import { waitReady } from './poll.ts';
import { startProcess, type ManagedProcess } from './processes.ts';
import { writeTokenFile, type Tokens } from './users.ts';

export interface ApiserverOptions {
  apiserverPath: string;
  dir: string;
  port: number;
  etcdUrl: string;
  pki: ClusterPki;
  tokens: Tokens;
  detached?: boolean;
  onStart?: (process: ManagedProcess) => void;
  /** How long to wait for /readyz (default 90 s). */
  deadlineMs?: number;
  extraArgs?: string[];
}

export interface Apiserver {
  process: ManagedProcess;
  server: string;
}

export async function startApiserver(options: ApiserverOptions): Promise<Apiserver> {
  const tokenFile = join(options.dir, 'tokens.csv');
  await writeTokenFile(tokenFile, options.tokens);
  const server = `https://127.0.0.1:${options.port}`;
  const proc = startProcess({
    name: 'kube-apiserver',
    command: options.apiserverPath,
    args: [
      `--etcd-servers=${options.etcdUrl}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${options.port}`,
      `--tls-cert-file=${options.pki.apiserver.certFile}`,
      `--tls-private-key-file=${options.pki.apiserver.keyFile}`,
      `--token-auth-file=${tokenFile}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${options.pki.serviceAccountPublicKeyFile}`,
      `--service-account-signing-key-file=${options.pki.serviceAccountPrivateKeyFile}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      // No controller-manager creates the default ServiceAccount, so this plugin would refuse every pod.
      '--disable-admission-plugins=ServiceAccount',
      '--allow-privileged=true',
      // Nothing else listens here; keep its scratch files inside the cluster directory.
      `--cert-dir=${join(options.dir, 'apiserver-certs')}`,
      ...(options.extraArgs ?? []),
    ],
    logFile: join(options.dir, 'kube-apiserver.log'),
    detached: options.detached ?? false,
    ...(options.onStart ? { onStart: options.onStart } : {}),
  });
  try {
    await waitReady(`${server}/readyz`, {
      process: proc,
      ca: options.pki.apiserver.caPem,
      token: options.tokens.admin,
      deadlineMs: options.deadlineMs ?? 90_000,
    });
  } catch (err) {
    await proc.stop(1000);
    throw err;
  }
  return { process: proc, server };
}
