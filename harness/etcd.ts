// A single-member etcd on loopback for one cluster. fsync is off: the data lives for
// one test run and speed matters more than surviving a power cut.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { waitReady } from './poll.ts';
import { startProcess, type ManagedProcess } from './processes.ts';

export interface EtcdOptions {
  etcdPath: string;
  dir: string;
  clientPort: number;
  peerPort: number;
  detached?: boolean;
  onStart?: (process: ManagedProcess) => void;
  deadlineMs?: number;
}

export interface Etcd {
  process: ManagedProcess;
  clientUrl: string;
}

export async function startEtcd(options: EtcdOptions): Promise<Etcd> {
  const dataDir = join(options.dir, 'etcd-data');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const clientUrl = `http://127.0.0.1:${options.clientPort}`;
  const peerUrl = `http://127.0.0.1:${options.peerPort}`;
  const proc = startProcess({
    name: 'etcd',
    command: options.etcdPath,
    args: [
      '--name=bulwark-e2e',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=bulwark-e2e=${peerUrl}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    logFile: join(options.dir, 'etcd.log'),
    detached: options.detached ?? false,
    ...(options.onStart ? { onStart: options.onStart } : {}),
  });
  try {
    await waitReady(`${clientUrl}/health`, {
      process: proc,
      deadlineMs: options.deadlineMs ?? 30_000,
      intervalMs: 100,
    });
  } catch (err) {
    await proc.stop(1000);
    throw err;
  }
  return { process: proc, clientUrl };
}
