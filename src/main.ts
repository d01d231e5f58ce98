// Composition root: configuration -> TLS -> cluster connection -> policy store and
// informers -> HTTPS server. Returns a handle whose close() drains in-flight requests.

import { createServer, type Server } from 'node:https';
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
import type { Config } from './config/schema.ts';
import { startControllers } from './controller/start.ts';
import { noClusterFacts, type FactResolver } from './review/decide.ts';
import type { Logger } from './observability/logger.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { loadPolicyFiles } from './policy/load-files.ts';
import { defaultPolicyOf, policyAdminsOf } from './config/default-policy.ts';
import { createPolicyCompiler } from './policy/compiler.ts';
import { PolicyStore } from './policy/store.ts';
import { createApp } from './server/app.ts';
import { writeGeneratedCertificates } from './server/certificate-files.ts';
import { TLS_OPTIONS, loadTlsMaterial, watchTlsFiles, type TlsFiles } from './server/tls.ts';

export interface Running {
  server: Server;
  port: number;
  metrics: Metrics;
  store: PolicyStore;
  /** Where the CA of a generated certificate was written, if one was generated. */
  caFile?: string;
  /** Stops accepting, lets in-flight requests finish (up to drainSeconds), then closes. */
  close(): Promise<void>;
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

export async function startBulwark(config: Config, logger: Logger): Promise<Running> {
  const { files, caFile } = await tlsFiles(config, logger);
  const tls = await loadTlsMaterial(files);

  const kubeConfig = loadKubeConfig(config.cluster, config.kubeconfig);
  const reader = kubeConfig ? createKubeReader(kubeConfig) : undefined;
  // The CRD validators are compiled here, once; the store and informers share them.
  const compiler = createPolicyCompiler();
  const store = new PolicyStore({
    compiler,
    lockLabel: config.lockLabel,
    defaultImmutability: defaultPolicyOf(config),
    policyAdmins: policyAdminsOf(config),
    sources: [...(reader ? CLUSTER_SOURCES : []), ...(config.policiesDir ? ['files'] : [])],
    onCompiled: reader
      ? policyStatusWriter({ reader, logger })
      : (r) => logger.info({ kind: r.kind, name: r.source.name }, 'policy compiled'),
  });
  if (config.policiesDir) {
    const count = await loadPolicyFiles(store, config.policiesDir);
    logger.info({ dir: config.policiesDir, count }, 'loaded policies from files');
  }

  let informers: ClusterInformers | undefined;
  let stopControllers = () => {};
  let resolveFacts: FactResolver = noClusterFacts;
  if (reader) {
    informers = createClusterInformers({ reader, store, compiler, logger });
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
    stopControllers = startControllers({
      client: reader,
      discovery: createDiscovery(reader, { timeoutMs }),
      compiler,
      store,
      informers: cache,
      logger,
    });
  } else {
    logger.info(
      'no cluster connection: scale and eviction requests of possibly locked objects are denied (fail closed)',
    );
  }

  const metrics = createMetrics();
  // Image verification: one registry client (connections, tokens) and one cache for all requests.
  const registryClient = createRegistryClient({ onRequest: (e) => metrics.observeRegistryRequest(e.purpose) });
  const readSecret = reader ? createSecretSource({ kube: reader }) : undefined;
  const verifier = cachedVerifier(
    createVerifier({ registry: registryClient, lockLabel: config.lockLabel, ...(readSecret ? { readSecret } : {}) }),
  );
  resolveFacts = withImageFacts(resolveFacts, {
    verify: verifier.verify,
    resolveTag: tagResolver(registryClient, readSecret),
    timeoutMs: config.decisionTimeoutSeconds * 1000,
  });

  let draining = false;
  const app = createApp({
    decideDeps: { snapshot: () => store.snapshot(), resolveFacts },
    logger,
    metrics,
    maxBodyBytes: config.maxBodyBytes,
    readiness: () => {
      if (draining) return { ready: false, reason: 'shutting down' };
      const pending = store.pending();
      return pending.length === 0 ? { ready: true } : { ready: false, reason: `not yet synced: ${pending.join(', ')}` };
    },
  });

  const server = createServer({ ...TLS_OPTIONS, cert: tls.cert, key: tls.key }, app);
  // The apiserver keeps connections alive; stay above its idle timeout so it is the one to close.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const watcher = watchTlsFiles({
    files,
    initial: tls,
    intervalMs: config.tls.reloadIntervalSeconds * 1000,
    apply: (m) => server.setSecureContext({ ...TLS_OPTIONS, cert: m.cert, key: m.key }),
    onReload: (m) => logger.info({ fingerprint: m.fingerprint.slice(0, 16) }, 'reloaded TLS certificate'),
    onError: (err) =>
      logger.error(
        { err: (err as Error).message },
        'TLS files changed but cannot be used; still serving the previous certificate',
      ),
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info(
    { port, host: config.host, lockLabel: `${config.lockLabel.key}=${config.lockLabel.value}` },
    `bulwark listening on https://${config.host}:${port}`,
  );

  return {
    server,
    port,
    metrics,
    store,
    ...(caFile ? { caFile } : {}),
    async close() {
      draining = true;
      watcher.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), config.drainSeconds * 1000);
      await closed;
      clearTimeout(timer);
      stopControllers();
      await informers?.stop();
      registryClient.close();
    },
  };
}
