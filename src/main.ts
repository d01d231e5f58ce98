// Composition root: configuration -> TLS -> cluster connection -> policies -> HTTPS
// server. Returns a handle whose close() drains in-flight requests (used on SIGTERM).

import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createKubeReader, loadKubeConfig } from './cluster/kube-client.ts';
import { parentFactResolver } from './cluster/parent-facts.ts';
import type { Config } from './config/schema.ts';
import { noClusterFacts, type FactResolver } from './decision/decide.ts';
import type { Logger } from './observability/logger.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { builtinSnapshot } from './policy/builtin.ts';
import type { PolicySnapshot } from './policy/compiled.ts';
import { createApp } from './server/app.ts';
import { writeGeneratedCertificates } from './server/certificate-files.ts';
import { TLS_OPTIONS, loadTlsMaterial, watchTlsFiles, type TlsFiles } from './server/tls.ts';

export interface Running {
  server: Server;
  port: number;
  metrics: Metrics;
  /** Where the CA of a generated certificate was written, if one was generated. */
  caFile?: string;
  /** Stops accepting, lets in-flight requests finish (up to drainSeconds), then closes. */
  close(): Promise<void>;
}

export async function startBulwark(config: Config, logger: Logger): Promise<Running> {
  let files: TlsFiles;
  let caFile: string | undefined;
  if (config.tls.certFile && config.tls.keyFile) {
    files = { certFile: config.tls.certFile, keyFile: config.tls.keyFile };
  } else {
    const generated = await writeGeneratedCertificates(config.tls.certDir);
    files = generated;
    caFile = generated.caFile;
    logger.info({ caFile, certFile: generated.certFile }, `no --cert given: generated a self-signed CA at ${caFile} (use it as the webhook caBundle or with curl --cacert)`);
  }
  const tls = await loadTlsMaterial(files);

  const kubeConfig = loadKubeConfig(config.cluster, config.kubeconfig);
  const timeoutMs = config.decisionTimeoutSeconds * 1000;
  let resolveFacts: FactResolver = noClusterFacts;
  if (kubeConfig) {
    const reader = createKubeReader(kubeConfig);
    resolveFacts = parentFactResolver(reader, timeoutMs);
    logger.info({ server: reader.server }, 'reading cluster facts from the API server');
  } else {
    logger.info('no cluster connection: scale and eviction requests of possibly locked objects are denied (fail closed)');
  }

  let snapshot: PolicySnapshot = builtinSnapshot(config.lockLabel);
  let draining = false;
  const metrics = createMetrics();
  const app = createApp({
    decideDeps: { snapshot: () => snapshot, resolveFacts },
    logger,
    metrics,
    maxBodyBytes: config.maxBodyBytes,
    readiness: () => draining ? { ready: false, reason: 'shutting down' }
      : snapshot.synced ? { ready: true } : { ready: false, reason: 'policies not yet synced' },
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
    onError: (err) => logger.error({ err: (err as Error).message }, 'TLS files changed but cannot be used; still serving the previous certificate'),
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, host: config.host, lockLabel: `${config.lockLabel.key}=${config.lockLabel.value}` }, `bulwark listening on https://${config.host}:${port}`);

  return {
    server,
    port,
    metrics,
    ...(caFile ? { caFile } : {}),
    async close() {
      draining = true;
      watcher.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), config.drainSeconds * 1000);
      await closed;
      clearTimeout(timer);
    },
  };
}

