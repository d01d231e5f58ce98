// kube-controller-manager and kube-scheduler as local processes. Every controller
// acts under its own ServiceAccount (--use-service-account-credentials), as in real
// clusters: the garbage collector is system:serviceaccount:kube-system:generic-garbage-collector,
// which is who Bulwark's rules recognise. No leader election: there is one of each.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { waitReady } from '../poll.ts';
import { startProcess, type ManagedProcess } from '../processes.ts';
import { SERVICE_SUBNET } from './network.ts';

export interface ControllersOptions {
  dir: string;
  controllerManagerPath: string;
  schedulerPath: string;
  kubeconfigs: { 'kube-controller-manager': string; 'kube-scheduler': string };
  serviceAccountPrivateKeyFile: string;
  /** Published to every namespace as kube-root-ca.crt: what pods trust the apiserver with. */
  rootCaFile: string;
  ports: { controllerManager: number; scheduler: number };
  detached: boolean;
  onStart?: (process: ManagedProcess) => void;
}

function component(
  name: string,
  path: string,
  port: number,
  kubeconfig: string,
  extra: string[],
  options: ControllersOptions,
): ManagedProcess {
  return startProcess({
    name,
    command: path,
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(options.dir, `${name}-certs`)}`,
      '--leader-elect=false',
      ...extra,
    ],
    logFile: join(options.dir, `${name}.log`),
    detached: options.detached,
    ...(options.onStart ? { onStart: options.onStart } : {}),
  });
}

export async function startControllers(options: ControllersOptions): Promise<ManagedProcess[]> {
  await mkdir(join(options.dir, 'kube-controller-manager-certs'), { recursive: true });
  await mkdir(join(options.dir, 'kube-scheduler-certs'), { recursive: true });
  const controllerManager = component(
    'kube-controller-manager',
    options.controllerManagerPath,
    options.ports.controllerManager,
    options.kubeconfigs['kube-controller-manager'],
    [
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${options.serviceAccountPrivateKeyFile}`,
      `--root-ca-file=${options.rootCaFile}`,
      `--service-cluster-ip-range=${SERVICE_SUBNET}`,
      '--controllers=*',
      // Namespaces, garbage collection and pods of a deleted node are reconciled quickly.
      '--concurrent-gc-syncs=5',
      '--node-monitor-grace-period=40s',
    ],
    options,
  );
  const scheduler = component(
    'kube-scheduler',
    options.schedulerPath,
    options.ports.scheduler,
    options.kubeconfigs['kube-scheduler'],
    [],
    options,
  );
  // Their /healthz is open to anyone (always-allowed path); the certificates are self-signed.
  await Promise.all([
    waitReady(`https://127.0.0.1:${options.ports.controllerManager}/healthz`, {
      process: controllerManager,
      deadlineMs: 60_000,
      insecure: true,
    }),
    waitReady(`https://127.0.0.1:${options.ports.scheduler}/healthz`, {
      process: scheduler,
      deadlineMs: 60_000,
      insecure: true,
    }),
  ]);
  return [controllerManager, scheduler];
}
