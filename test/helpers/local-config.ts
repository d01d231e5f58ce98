// The configuration of an in-process Bulwark for server tests: loopback, a free port, no
// cluster, a 64 KiB body limit, the given serving certificate (reloaded quickly), silent,
// a short warm-up.

import { DEFAULT_CONFIG, type Config } from '../../src/config/schema.ts';
import type { CertificateFiles } from '../../src/server/certificate-files.ts';

export function localServerConfig(files: CertificateFiles, overrides: Partial<Config> = {}): Config {
  return {
    ...DEFAULT_CONFIG,
    host: '127.0.0.1',
    port: 0,
    cluster: 'none',
    maxBodyBytes: 64 * 1024,
    tls: { certFile: files.certFile, keyFile: files.keyFile, reloadIntervalSeconds: 0.1 },
    logLevel: 'silent',
    // A few rounds: the warm-up runs (server/warm-up.ts) without a second per test server.
    warmUpRounds: 2,
    ...overrides,
  };
}
