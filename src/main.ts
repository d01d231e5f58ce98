// Composition root: configuration -> TLS -> cluster connection -> policy store and
// informers -> HTTPS server. Returns a handle whose close() drains in-flight requests.

import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createKubeReader, loadKubeConfig } from './cluster/kube-client.ts';
import { createDiscovery } from './cluster/discovery.ts';
import { createSecretSource } from './cluster/secrets.ts';
import { createRegistryClient } from './registry/client.ts';
import { cachedVerifier } from './image-verification/cache.ts';
import { withImageFacts } from './image-verification/gather.ts';
import { tagResolver } from './image-verification/resolve-tag.ts';
import { createVerifier } from './image-verification/verify.ts';
import { clusterFactResolver } from './cluster/facts.ts';
import { CLUSTER_SOURCES, createClusterInformers, type ClusterInformers } from './cluster/policy-informers.ts';
import { policyStatusWriter } from './cluster/policy-status.ts';
import { attestationKeySource, type AttestationKeySource } from './cluster/attestation-keys.ts';
import { createAuditor } from './ledger/auditor.ts';
import { createPodAudit } from './ledger/running-pods.ts';
import { createAttributionRecorder, type AdmittedHook } from './cluster/lock-attribution.ts';
import { createUnlockedChangeRecorder } from './cluster/unlocked-change.ts';
import type { Config } from './config/schema.ts';
import { startControllers } from './controller/start.ts';
import { defaultIdentity, LEASE_NAME, leaseLeader, type LeaderElector } from './cluster/leader.ts';
import { noClusterFacts, type FactResolver } from './review/decide.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { messageOf } from './errors.ts';
import { createMetrics, type Metrics, type RegistryOutcome } from './observability/metrics.ts';
import { defaultPolicyOf, policyAdminsOf } from './config/default-policy.ts';
import { createPolicyCompiler } from './policy/compiler.ts';
import { PolicyStore } from './policy/store.ts';
import { createApp, createMetricsApp } from './server/app.ts';
import { DEFAULT_CONNECTION_LIMITS, capConnections } from './server/connection-limits.ts';
import { createWebhookServer, type WebhookServer } from './server/secure-server.ts';
import { protocolOf } from './server/protocol.ts';
import { drainServer, drainTiming } from './server/drain.ts';
import { createReviewDecoder } from './admission/decode.ts';
import { writeGeneratedCertificates } from './server/certificate-files.ts';
import { TLS_OPTIONS, loadTlsMaterial, watchTlsFiles, type TlsFiles } from './server/tls.ts';
import { clientAuthOptions } from './server/client-auth.ts';
import { keyRingOf } from './attestation/approval.ts';
import { releaseMemoryNow, releaseStartupMemory } from './server/release-memory.ts';
import { DEFAULT_WARM_UP_ROUNDS, warmUp } from './server/warm-up.ts';

/** The store's source name for the attestation keys: not ready until they are read. */
const ATTESTATION_KEYS = 'attestation-keys';
/** Who locked what is written while the request waits: briefly, and the lock stands without it. */
const ATTRIBUTION_WRITE_TIMEOUT_MS = 2_000;

/** Who locked what, and what changed under an unlock: both written at once, within the same budget. */
const bothRecorders =
  (first: AdmittedHook, second: AdmittedHook): AdmittedHook =>
  async (request, verdict) => {
    await Promise.all([first(request, verdict), second(request, verdict)]);
  };

export interface Running {
  /** HTTP/2 with HTTP/1.1 (node:http2), or HTTP/1.1 alone with --http2=false (node:https). */
  server: WebhookServer;
  port: number;
  /** The plain-HTTP port of /metrics, when one was asked for. */
  metricsPort?: number;
  metrics: Metrics;
  store: PolicyStore;
  /** Where the CA of a generated certificate was written, if one was generated. */
  caFile?: string;
  /** Stops accepting, lets in-flight requests finish (up to drainSeconds), then closes. */
  close(): Promise<void>;
}

function statusClass(status: number | undefined): RegistryOutcome {
  if (status === undefined) return 'error';
  return status >= 500 ? '5xx' : status >= 400 ? '4xx' : status >= 300 ? '3xx' : '2xx';
}

async function tlsFiles(config: Config, logger: Logger): Promise<{ files: TlsFiles; caFile?: string }> {
  if (config.tls.certFile && config.tls.keyFile)
    return { files: { certFile: config.tls.certFile, keyFile: config.tls.keyFile } };
  const generated = await writeGeneratedCertificates(config.tls.certDir);
  logger.info(
    { caFile: generated.caFile, certFile: generated.certFile },
    `no --cert given: generated a self-signed CA at ${generated.caFile} (use it as the webhook caBundle or with ` +
      `curl --cacert)`,
  );
  return { files: generated, caFile: generated.caFile };
}

function listen(server: HttpServer | WebhookServer, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startBulwark(config: Config, logger: Logger): Promise<Running> {
  const { files, caFile } = await tlsFiles(config, logger);
  const tls = await loadTlsMaterial(files);

  const kubeConfig = await loadKubeConfig(config.cluster, config.kubeconfig);
  const reader = kubeConfig ? createKubeReader(kubeConfig) : undefined;
  // The CRD validators are compiled here, once; the store and informers share them.
  const compiler = createPolicyCompiler();
  const store = new PolicyStore({
    compiler,
    lockLabel: config.lockLabel,
    defaultImmutability: defaultPolicyOf(config),
    policyAdmins: policyAdminsOf(config),
    sources: [...(reader ? [...CLUSTER_SOURCES, ATTESTATION_KEYS] : []), ...(config.policiesDir ? ['files'] : [])],
    onCompiled: reader
      ? policyStatusWriter({ reader, logger })
      : (r) => logger.info({ kind: r.kind, name: r.source.name }, 'policy compiled'),
  });
  if (config.policiesDir) {
    // Imported only with --policies: the `yaml` package it reads them with is not needed otherwise.
    const { loadPolicyFiles } = await import('./policy/load-files.ts');
    const count = await loadPolicyFiles(store, config.policiesDir);
    logger.info({ dir: config.policiesDir, count }, 'loaded policies from files');
  }

  let informers: ClusterInformers | undefined;
  let leader: LeaderElector | undefined;
  let stopControllers = () => {};
  let keySource: AttestationKeySource | undefined;
  let auditor: ReturnType<typeof createAuditor> | undefined;
  let resolveFacts: FactResolver = noClusterFacts;
  if (reader) {
    informers = createClusterInformers({
      reader,
      store,
      compiler,
      logger,
      resyncGraceMs: config.resyncGraceSeconds * 1000,
    });
    const cache = informers;
    const timeoutMs = config.decisionTimeoutSeconds * 1000;
    resolveFacts = clusterFactResolver({
      reader,
      discovery: createDiscovery(reader, { timeoutMs }),
      informers: cache,
      timeoutMs,
      lockLabel: config.lockLabel,
    });
    logger.info({ server: reader.server }, 'watching policies and reading cluster facts from the API server');
    void informers.start().catch((err: unknown) => logger.error({ err }, 'informers failed to start'));
    keySource = attestationKeySource({
      client: reader,
      namespace: config.namespace,
      secretName: config.attestationKeysSecret,
      logger,
      onKeys: (ring) => {
        store.setAttestationKeys(ring);
        store.markSynced(ATTESTATION_KEYS);
      },
    });
    void keySource.start();
  } else {
    logger.info(
      'no cluster connection: scale and eviction requests of possibly locked objects are denied (fail closed)',
    );
  }

  const metrics = createMetrics({ policyLabel: config.metrics.policyLabel });
  metrics.setCertificateExpiry(tls.notAfterMs / 1000);
  metrics.watchSync(() => ({ sources: store.sources(), pending: store.pending(), broken: informers?.broken() ?? [] }));
  // Image verification: one registry client (connections, tokens) and one cache for all requests.
  const registryClient = createRegistryClient({
    onRequest: (e) => metrics.observeRegistryRequest(e.purpose),
    onResponse: (e) => metrics.observeRegistryResponse(e.purpose, statusClass(e.status), e.seconds),
  });
  const readSecret = reader ? createSecretSource({ kube: reader }) : undefined;
  const readConfigMap = reader ? createSecretSource({ kube: reader, resource: 'configmaps' }) : undefined;
  const verifier = cachedVerifier(
    createVerifier({
      registry: registryClient,
      lockLabel: config.lockLabel,
      ...(readSecret ? { readSecret } : {}),
      ...(readConfigMap ? { readConfigMap } : {}),
    }),
    {
      onLookup: (result) => metrics.observeCacheLookup(result),
    },
  );
  const resolveTag = tagResolver(registryClient, readSecret);
  resolveFacts = withImageFacts(resolveFacts, {
    verify: verifier.verify,
    resolveTag,
    timeoutMs: config.decisionTimeoutSeconds * 1000,
  });

  if (reader && informers) {
    // One leader election for every loop: UnlockRequest status, Events and notifications; the drift audit.
    leader = leaseLeader({
      client: reader,
      namespace: config.namespace,
      name: LEASE_NAME,
      identity: defaultIdentity(),
      logger,
    });
    leader.start();
    const elector = leader;
    metrics.watchLease(() => elector.state());
    const { notifyUrl, notifySecret } = config;
    stopControllers = startControllers({
      client: reader,
      discovery: createDiscovery(reader, { timeoutMs: config.decisionTimeoutSeconds * 1000 }),
      compiler,
      store,
      informers,
      leader,
      logger,
      metrics,
      ...(notifyUrl
        ? { notify: { url: notifyUrl, namespace: config.namespace, ...(notifySecret ? { secret: notifySecret } : {}) } }
        : {}),
    });
    if (config.auditIntervalSeconds > 0) {
      auditor = createAuditor({
        client: reader,
        discovery: createDiscovery(reader, { timeoutMs: 30_000 }),
        store,
        informers,
        logger,
        metrics,
        isLeader: leader.isLeader,
        intervalMs: config.auditIntervalSeconds * 1000,
        afterScan: releaseMemoryNow,
        ...(config.auditPageSize ? { pageSize: config.auditPageSize } : {}),
        namespace: config.namespace,
        watch: true,
        pods: createPodAudit({
          client: reader,
          informers,
          verifier,
          resolveTag,
          excludedNamespaces: ['kube-system', config.namespace, ...config.excludedNamespaces],
          logger,
          metrics,
          ...(config.auditPageSize ? { pageSize: config.auditPageSize } : {}),
        }),
      });
      auditor.start();
    }
  }
  let draining = false;
  const readiness = () => {
    if (draining) return { ready: false, reason: 'shutting down' };
    const pending = store.pending();
    return pending.length === 0 ? { ready: true } : { ready: false, reason: `not yet synced: ${pending.join(', ')}` };
  };
  const decoder = createReviewDecoder();
  const app = createApp({
    decideDeps: {
      snapshot: () => store.snapshot(),
      resolveFacts,
      ...(reader
        ? {
            onDecided: bothRecorders(
              createAttributionRecorder({
                client: reader,
                namespace: config.namespace,
                keys: () => keyRingOf(store.snapshot().attestation),
                lockLabel: () => store.snapshot().lockLabel,
                logger,
                onFailure: (why) => metrics.observeAttributionFailure(why),
                timeoutMs: ATTRIBUTION_WRITE_TIMEOUT_MS,
              }),
              createUnlockedChangeRecorder({
                client: reader,
                namespace: config.namespace,
                keys: () => keyRingOf(store.snapshot().attestation),
                logger,
                onFailure: (why) => metrics.observeUnlockedChangeFailure(why),
                timeoutMs: ATTRIBUTION_WRITE_TIMEOUT_MS,
              }),
            ),
          }
        : {}),
    },
    decoder,
    logger,
    metrics,
    maxBodyBytes: config.maxBodyBytes,
    attestationKeys: () => keyRingOf(store.snapshot().attestation),
    maxInFlightBytes: config.maxInFlightBytes,
    serveMetrics: config.metricsPort === undefined,
    readiness,
  });

  const limits = { ...DEFAULT_CONNECTION_LIMITS, maxConnections: config.maxConnections };
  const clientAuth = await clientAuthOptions(config.tls.clientCaFile);
  const server = createWebhookServer(
    { http2: config.http2, limits, tls: { ...TLS_OPTIONS, ...clientAuth, cert: tls.cert, key: tls.key } },
    app,
  );
  capConnections(server, limits, { logger, metrics });
  server.on('request', (req) => metrics.observeHttpRequest(protocolOf(req)));
  const watcher = watchTlsFiles({
    files,
    initial: tls,
    intervalMs: config.tls.reloadIntervalSeconds * 1000,
    // A new context replaces the whole one: the client CA goes along.
    apply: (m) => server.setSecureContext({ ...TLS_OPTIONS, ...clientAuth, cert: m.cert, key: m.key }),
    onReload: (m) => {
      metrics.setCertificateExpiry(m.notAfterMs / 1000);
      logger.info(
        { fingerprint: m.fingerprint.slice(0, 16), notAfter: new Date(m.notAfterMs).toISOString() },
        'reloaded TLS certificate',
      );
    },
    onError: (err) =>
      logger.error(
        { err: (err as Error).message },
        'TLS files changed but cannot be used; still serving the previous certificate',
      ),
  });

  // Before listening: the first reviews a new replica answers are then as fast as later ones.
  const warmStarted = process.hrtime.bigint();
  const warmed = await warmUp({
    app: createApp({
      decideDeps: { snapshot: () => ({ ...store.snapshot(), synced: true }), resolveFacts: noClusterFacts },
      decoder,
      logger: createLogger(config.logLevel, { write: () => {} }),
      metrics: createMetrics({ collectDefaults: false }),
      readiness: () => ({ ready: true }),
      serveMetrics: false,
      maxBodyBytes: config.maxBodyBytes,
      maxInFlightBytes: config.maxInFlightBytes,
    }),
    server: { http2: config.http2, limits, tls: { ...TLS_OPTIONS, cert: tls.cert, key: tls.key } },
    lockLabel: config.lockLabel,
    rounds: config.warmUpRounds ?? DEFAULT_WARM_UP_ROUNDS,
  }).catch((err: unknown) => {
    logger.warn({ err: messageOf(err) }, 'warm-up failed: the first reviews will be slower');
    return 0;
  });
  if (warmed > 0) {
    const ms = Math.round(Number(process.hrtime.bigint() - warmStarted) / 1e6);
    logger.info({ reviews: warmed, ms }, `answered ${warmed} synthetic reviews on loopback to warm up in ${ms} ms`);
  }
  await listen(server, config.port, config.host);
  const port = (server.address() as AddressInfo).port;
  const metricsServer =
    config.metricsPort === undefined ? undefined : createHttpServer(createMetricsApp(metrics, readiness));
  const metricsPort = metricsServer ? await listen(metricsServer, config.metricsPort!, config.host) : undefined;
  if (metricsServer) logger.info({ metricsPort }, `metrics on http://${config.host}:${metricsPort}/metrics`);
  logger.info(
    { port, host: config.host, lockLabel: `${config.lockLabel.key}=${config.lockLabel.value}` },
    `bulwark listening on https://${config.host}:${port} (${config.http2 ? 'HTTP/2 and HTTP/1.1' : 'HTTP/1.1'})`,
  );
  const stopRelease = releaseStartupMemory({ ready: () => readiness().ready });

  return {
    server,
    port,
    ...(metricsPort === undefined ? {} : { metricsPort }),
    metrics,
    store,
    ...(caFile ? { caFile } : {}),
    async close() {
      draining = true;
      stopRelease();
      watcher.stop();
      // Background loops first, so that the Lease goes to another replica at once; the
      // server keeps deciding (policies, keys) while it drains.
      stopControllers();
      await auditor?.stop();
      leader?.stop();
      await drainServer(server, drainTiming(config.drainSeconds));
      keySource?.stop();
      metricsServer?.closeAllConnections();
      await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
      await informers?.stop();
      registryClient.close();
    },
  };
}
