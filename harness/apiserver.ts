// kube-apiserver as a local process. In a bare cluster there is no controller-manager,
// scheduler or kubelet: objects are stored and admitted, nothing reconciles them (pods
// stay Pending, namespaces stay Terminating). A full cluster adds them (node/full.ts).

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
  /** Identities beyond the users (the node's components), as token-file lines. */
  extraTokenLines?: string[];
  /**
   * With a node (full cluster): listen on every address and advertise `advertiseAddress`
   * (pods reach the apiserver through the `kubernetes` Service), admit with the
   * ServiceAccount plugin and NodeRestriction, authorize kubelets with the Node authorizer,
   * and call kubelets with this client certificate (logs, exec).
   */
  node?: { advertiseAddress: string; kubeletClientCertFile: string; kubeletClientKeyFile: string };
}

export interface Apiserver {
  process: ManagedProcess;
  server: string;
}

export async function startApiserver(options: ApiserverOptions): Promise<Apiserver> {
  const tokenFile = join(options.dir, 'tokens.csv');
  await writeTokenFile(tokenFile, options.tokens, options.extraTokenLines);
  const node = options.node;
  const modeArgs = node
    ? [
        '--bind-address=0.0.0.0',
        `--advertise-address=${node.advertiseAddress}`,
        '--authorization-mode=Node,RBAC',
        '--enable-admission-plugins=NodeRestriction',
        `--kubelet-client-certificate=${node.kubeletClientCertFile}`,
        `--kubelet-client-key=${node.kubeletClientKeyFile}`,
        '--kubelet-preferred-address-types=InternalIP',
      ]
    : [
        '--bind-address=127.0.0.1',
        '--authorization-mode=RBAC',
        // No controller-manager creates the default ServiceAccount, so this plugin would refuse every pod.
        '--disable-admission-plugins=ServiceAccount',
      ];
  const server = `https://127.0.0.1:${options.port}`;
  const proc = startProcess({
    name: 'kube-apiserver',
    command: options.apiserverPath,
    args: [
      `--etcd-servers=${options.etcdUrl}`,
      ...modeArgs,
      `--secure-port=${options.port}`,
      `--tls-cert-file=${options.pki.apiserver.certFile}`,
      `--tls-private-key-file=${options.pki.apiserver.keyFile}`,
      `--token-auth-file=${tokenFile}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${options.pki.serviceAccountPublicKeyFile}`,
      `--service-account-signing-key-file=${options.pki.serviceAccountPrivateKeyFile}`,
      '--service-cluster-ip-range=10.0.0.0/24',
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
