// kube-proxy in iptables mode: Service ClusterIPs work for pods (the `kubernetes`
// Service that in-cluster clients use) and for this machine itself (the apiserver
// calls Bulwark's Service by its ClusterIP unless --enable-aggregator-routing is set).
// Its rules are machine-wide; `kube-proxy --cleanup` on teardown removes them all.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { waitReady } from '../poll.ts';
import { startProcess, type ManagedProcess } from '../processes.ts';
import { SYSTEM_PATH } from './host.ts';
import { NODE_NAME } from './identities.ts';
import { POD_SUBNET } from './network.ts';

export interface KubeProxyOptions {
  dir: string;
  kubeProxyPath: string;
  kubeconfig: string;
  healthzPort: number;
  metricsPort: number;
  detached: boolean;
  onStart?: (process: ManagedProcess) => void;
}

export async function startKubeProxy(options: KubeProxyOptions): Promise<ManagedProcess> {
  const config = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clientConnection: { kubeconfig: options.kubeconfig },
    hostnameOverride: NODE_NAME,
    clusterCIDR: POD_SUBNET,
    bindAddress: '127.0.0.1',
    healthzBindAddress: `127.0.0.1:${options.healthzPort}`,
    metricsBindAddress: `127.0.0.1:${options.metricsPort}`,
    // Leave the machine's conntrack table sizes alone.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    iptables: { masqueradeAll: false, syncPeriod: '10s', minSyncPeriod: '0s' },
  };
  const configFile = join(options.dir, 'kube-proxy-config.yaml');
  await writeFile(configFile, stringify(config), { mode: 0o600 });
  const proc = startProcess({
    name: 'kube-proxy',
    command: options.kubeProxyPath,
    args: [`--config=${configFile}`, '--v=1'],
    // kube-proxy runs iptables-restore and conntrack from PATH.
    env: { ...process.env, PATH: SYSTEM_PATH },
    logFile: join(options.dir, 'kube-proxy.log'),
    detached: options.detached,
    ...(options.onStart ? { onStart: options.onStart } : {}),
  });
  await waitReady(`http://127.0.0.1:${options.healthzPort}/healthz`, { process: proc, deadlineMs: 60_000 });
  return proc;
}
