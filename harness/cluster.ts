// One throwaway cluster: etcd, kube-apiserver and Bulwark as local processes in a
// temporary directory, the webhook registered and proven to deny. With `full`, a whole
// single-node cluster instead (node/full.ts): controllers, a kubelet with containerd,
// kube-proxy, and Bulwark built from the Dockerfile and installed by `helm install`.
// startCluster() is the single entry point for the e2e global setups, `npm run cluster`
// and `npm run demo`.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiserver } from './apiserver.ts';
import { applyCrds } from './crds.ts';
import { startEtcd } from './etcd.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { kubectlOk, kubectlRunner, type Kubectl } from './kubectl.ts';
import { writeClusterPki } from './pki.ts';
import { freePorts } from './ports.ts';
import { stopOrder, type ManagedProcess } from './processes.ts';
import { grantUserRole } from './rbac.ts';
import { BULWARK_NAMESPACE, createProbe, registerWebhook, waitForDenial } from './registration.ts';
import { installSelfProtection } from './self-protection.ts';
import { chartRegistration, registerChartWebhooks } from './chart-registration.ts';
import { clusterRuns, DIR_PREFIX, reapOrphanedClusters, writeState, type ClusterState } from './state.ts';
import { CONTROL_PLANE_TOOLS, locateTools, type ToolPaths, type ControlPlaneTool } from './tools.ts';
import { writeKubeletClientCert } from './node/client-cert.ts';
import { writeWebhookClientConfig } from './webhook-client.ts';
import { startNode, type FullClusterTool, type StartedNode } from './node/full.ts';
import { checkHost, claimMachine, hostAddress } from './node/host.ts';
import { componentTokenLines, randomComponentTokens } from './node/identities.ts';
import { KUBERNETES_SERVICE_IP } from './node/network.ts';
import { teardownNode } from './node/teardown.ts';
import { randomTokens, type Tokens } from './users.ts';
import { startWebhook } from './webhook.ts';

/** The tools a full cluster needs beyond the control plane's. */
export const FULL_CLUSTER_TOOLS: readonly FullClusterTool[] = [
  'kube-controller-manager',
  'kube-scheduler',
  'kubelet',
  'kube-proxy',
  'containerd',
  'containerd-shim-runc-v2',
  'ctr',
  'crictl',
  'cni-plugins',
  'node-images',
  'runc',
  'helm',
  'dockerd',
  'node-base',
];

export interface ClusterOptions {
  /** Processes lead their own process groups and outlive this process (`cluster up`). */
  detached?: boolean;
  /** Keep the directory (logs, etcd data) when stopping. */
  keep?: boolean;
  /** Start and register Bulwark (default true); false gives a bare control plane. */
  webhook?: boolean;
  /** Replaces the Bulwark command; see defaultWebhookCommand() for the placeholders. */
  webhookCommand?: string[];
  /**
   * How the local Bulwark is registered: `url`, one catch-all entry (registration.ts), or
   * `chart`, the chart's own entries (chart-registration.ts). Default: BULWARK_E2E_REGISTRATION.
   */
  registration?: 'url' | 'chart';
  webhookEnv?: Record<string, string>;
  /** Extra kube-apiserver flags, e.g. `--feature-gates=...`. */
  apiserverArgs?: string[];
  /**
   * A whole single-node cluster: controller-manager, scheduler, kubelet with containerd,
   * kube-proxy, and Bulwark's image built and installed by `helm install` (whose webhook
   * configuration replaces the harness's; `webhook` and `webhookCommand` do not apply).
   * Needs root; one per machine.
   */
  full?: boolean;
  /** Progress messages. */
  log?: (message: string) => void;
}

/** Milliseconds from the start of startCluster() to each milestone. */
export interface ClusterTimings {
  tools: number;
  etcdReady: number;
  apiserverReady: number;
  webhookReady?: number;
  firstDenial?: number;
  denialAttempts?: number;
}

export interface Cluster {
  dir: string;
  /** Admin kubeconfig with a context per user (admin, alice, bob, carol, dave). */
  kubeconfig: string;
  /** https://127.0.0.1:PORT of the apiserver. */
  server: string;
  /** The CA that signed the apiserver's certificate. */
  caFile: string;
  tokens: Tokens;
  /** 0 when started without the webhook, and in a full cluster (Bulwark runs as pods there). */
  webhookPort: number;
  /** A full cluster's node: Bulwark's image and the node's milestones. */
  node?: StartedNode;
  tools: ToolPaths<ControlPlaneTool>;
  processes: ManagedProcess[];
  timings: ClusterTimings;
  state: ClusterState;
  kubectl: Kubectl;
  /**
   * Stops every process (SIGTERM, then SIGKILL), takes a full cluster's node down and
   * removes the directory unless `keep`. Returns what could not be undone (empty when clean).
   */
  stop(): Promise<string[]>;
  /** Lets a detached cluster outlive this process (`cluster up`); stop it later from its state.json. */
  release(): void;
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const t0 = Date.now();
  const since = () => Date.now() - t0;
  const log = options.log ?? (() => {});
  const detached = options.detached ?? false;

  const full = options.full ?? false;

  const reaped = await reapOrphanedClusters();
  for (const dir of reaped) log(`stopped the leftovers of a crashed run in ${dir}`);

  if (full) checkHost();
  const tools = await locateTools([...CONTROL_PLANE_TOOLS, ...(full ? FULL_CLUSTER_TOOLS : [])], { log });
  const timings: ClusterTimings = { tools: since(), etcdReady: 0, apiserverReady: 0 };
  const dir = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  if (full) claimMachine(dir, clusterRuns);
  const [etcdClient, etcdPeer, apiserverPort, webhookPort, ...nodePorts] = (await freePorts(
    full ? 10 : 4,
  )) as number[] as [number, number, number, number, ...number[]];
  const state: ClusterState = {
    dir,
    ownerPid: process.pid,
    detached,
    startedAt: new Date(t0).toISOString(),
    ports: { etcdClient, etcdPeer, apiserver: apiserverPort },
    processes: [],
  };
  await writeState(state);
  const processes: ManagedProcess[] = [];
  // Recorded the moment a process exists, so that a run killed during startup leaves
  // nothing that the next run's reaper cannot find.
  let saved = Promise.resolve();
  // Best effort: the state only helps a later run clean up after this one.
  const save = () => (saved = saved.then(() => writeState(state)).catch(() => {}));
  const onStart = (p: ManagedProcess) => {
    processes.push(p);
    state.processes.push({
      name: p.name,
      pid: p.pid,
      logFile: p.logFile,
      detached: p.detached,
      ...(p.startTime ? { startTime: p.startTime } : {}),
    });
    void save();
  };

  let keep = options.keep ?? false;
  let stopped = false;
  const stop = async (): Promise<string[]> => {
    if (stopped) return [];
    stopped = true;
    const problems = state.node ? await teardownNode(dir, state.processes, state.node) : [];
    for (const problem of problems) log(`teardown: ${problem}`);
    for (const p of stopOrder(processes)) await p.stop();
    await saved;
    if (keep) {
      state.kept = true;
      await writeState(state);
    } else {
      await rm(dir, { recursive: true, force: true });
    }
    return problems;
  };

  try {
    log(`cluster directory ${dir}`);
    const address = full ? hostAddress() : undefined;
    const pki = await writeClusterPki(
      dir,
      address
        ? {
            apiserverIps: [address, KUBERNETES_SERVICE_IP],
            apiserverDnsNames: [
              'kubernetes',
              'kubernetes.default',
              'kubernetes.default.svc',
              'kubernetes.default.svc.cluster.local',
            ],
          }
        : {},
    );
    const tokens = randomTokens();
    const componentTokens = full ? randomComponentTokens() : undefined;
    const kubeletClient = full ? await writeKubeletClientCert(dir) : undefined;
    // The apiserver presents a client certificate to webhooks (for `bulwark serve --client-ca`
    // and the chart's tls.clientCa); a webhook that asks for none never sees it.
    const webhookClient = await writeWebhookClientConfig(dir);
    const etcd = await startEtcd({
      etcdPath: tools.etcd,
      dir,
      clientPort: etcdClient,
      peerPort: etcdPeer,
      detached,
      onStart,
    });
    timings.etcdReady = since();
    log(`etcd ready on ${etcd.clientUrl} (${timings.etcdReady} ms)`);

    const apiserver = await startApiserver({
      apiserverPath: tools['kube-apiserver'],
      dir,
      port: apiserverPort,
      etcdUrl: etcd.clientUrl,
      pki,
      tokens,
      detached,
      onStart,
      extraArgs: [...webhookClient.args, ...(options.apiserverArgs ?? [])],
      ...(componentTokens ? { extraTokenLines: componentTokenLines(componentTokens) } : {}),
      ...(address && kubeletClient
        ? {
            node: {
              advertiseAddress: address,
              kubeletClientCertFile: kubeletClient.certFile,
              kubeletClientKeyFile: kubeletClient.keyFile,
            },
          }
        : {}),
    });
    timings.apiserverReady = since();
    log(`kube-apiserver ready on ${apiserver.server} (${timings.apiserverReady} ms)`);

    const kubeconfig = join(dir, 'kubeconfig');
    await writeKubeconfig({ file: kubeconfig, server: apiserver.server, caPem: pki.apiserver.caPem, tokens });
    state.server = apiserver.server;
    state.kubeconfig = kubeconfig;
    const kubectl = kubectlRunner({ kubectlPath: tools.kubectl, kubeconfig, cacheDir: join(dir, 'kube-cache') });
    // In a full cluster the chart installs the CRDs, as it does for users.
    const [, crds] = await Promise.all([grantUserRole(kubectl), full ? [] : applyCrds(kubectl)]);
    if (crds.length > 0) log(`applied ${crds.length} CRD file(s)`);

    let node: StartedNode | undefined;
    if (full && address && componentTokens && kubeletClient) {
      const fullTools = tools as ToolPaths<ControlPlaneTool | FullClusterTool>;
      const [controllerManager, scheduler, kubelet, kubeletHealthz, proxyHealthz, proxyMetrics] = nodePorts as [
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      Object.assign(state.ports, { controllerManager, scheduler, kubelet, kubeletHealthz, proxyHealthz, proxyMetrics });
      node = await startNode({
        dir,
        detached,
        onStart,
        tools: fullTools,
        server: apiserver.server,
        apiserverCaFile: pki.apiserver.caFile,
        serviceAccountPrivateKeyFile: pki.serviceAccountPrivateKeyFile,
        kubeletClientCaFile: kubeletClient.caFile,
        componentTokens,
        hostAddress: address,
        kubectl,
        log,
        since,
        ports: { controllerManager, scheduler, kubelet, kubeletHealthz, proxyHealthz, proxyMetrics },
        recordNode: async (recorded) => {
          state.node = recorded;
          await save();
        },
      });
      await createProbe(kubectl);
      timings.denialAttempts = await waitForDenial(kubectl);
      timings.firstDenial = since();
      log(
        `the chart's webhook denies a change to a locked ConfigMap after ${timings.denialAttempts} attempt(s) ` +
          `(${timings.firstDenial} ms)`,
      );
    } else if (options.webhook !== false) {
      state.ports.webhook = webhookPort;
      // Bulwark keeps its attestation keys there (it creates the Secret at first start).
      await kubectlOk(kubectl, ['create', 'namespace', BULWARK_NAMESPACE]);
      const webhook = await startWebhook({
        dir,
        port: webhookPort,
        tls: pki.webhook,
        kubeconfig,
        detached,
        onStart,
        ...(options.webhookCommand ? { command: options.webhookCommand } : {}),
        ...(options.webhookEnv ? { env: options.webhookEnv } : {}),
      });
      timings.webhookReady = since();
      log(`bulwark ready on ${webhook.url} (${timings.webhookReady} ms)`);
      await createProbe(kubectl);
      if ((options.registration ?? (chartRegistration() ? 'chart' : 'url')) === 'chart')
        await registerChartWebhooks(kubectl, webhook.url, pki.webhook.caPem);
      else await registerWebhook(kubectl, webhook.url, pki.webhook.caPem);
      timings.denialAttempts = await waitForDenial(kubectl);
      timings.firstDenial = since();
      log(`first denial observed after ${timings.denialAttempts} attempt(s) (${timings.firstDenial} ms)`);
      // As the chart installs it: nobody but the policy admins may switch Bulwark off.
      await installSelfProtection(kubectl);
      log(`self-protection in force (${since()} ms)`);
    }
    await save();

    return {
      dir,
      kubeconfig,
      server: apiserver.server,
      caFile: pki.apiserver.caFile,
      tokens,
      webhookPort: options.webhook === false || full ? 0 : webhookPort,
      ...(node ? { node } : {}),
      tools,
      processes,
      timings,
      state,
      kubectl,
      stop,
      release() {
        if (!detached) throw new Error('only a detached cluster can outlive its owner');
        for (const p of processes) p.release();
      },
    };
  } catch (err) {
    // Keep the logs of a failed start: the error names them.
    keep = true;
    await stop();
    throw new Error(`cluster start failed (logs kept in ${dir}): ${(err as Error).message}`, { cause: err });
  }
}
