// Fills Node's compile cache (the directory NODE_COMPILE_CACHE names) with every module
// `bulwark serve` loads, at start and on demand: the image build runs it (Dockerfile), so
// that the webhook finds its sources already type-stripped and compiled. Without the cache,
// Node's TypeScript stripper (a WebAssembly module) is loaded and stays in memory, and every
// file is stripped and compiled again at each start: about 25 MB more idle RSS and twice
// the start-up time (issue 19). The sources still run as they are; nothing is built.
//
//   NODE_COMPILE_CACHE=DIR node --max-semi-space-size=8 --expose-gc scripts/warm-compile-cache.ts
//
// Run it as the user and with the V8 flags of the ENTRYPOINT: Node keys the cache by both.

import { enableCompileCache, flushCompileCache, getCompileCacheDir } from 'node:module';

if (!process.env.NODE_COMPILE_CACHE) {
  process.stderr.write('set NODE_COMPILE_CACHE to the directory to fill\n');
  process.exit(1);
}
const status = enableCompileCache();
if (!getCompileCacheDir()) {
  process.stderr.write(`no compile cache in ${process.env.NODE_COMPILE_CACHE}: ${status.message}\n`);
  process.exit(1);
}

const modules = [
  // At start (bin/bulwark.js -> cli/main.ts -> the serve action).
  '../bin/launch.js',
  '../src/cli/main.ts',
  '../src/config/load.ts',
  '../src/observability/logger.ts',
  '../src/main.ts',
  // On demand: a config file, policy files, a generated certificate, the first signature check.
  'yaml',
  '../src/policy/load-files.ts',
  '../src/server/certificates.ts',
  '../src/image-verification/judges.ts',
  '../src/image-verification/attest.ts',
  '@sigstore/protobuf-specs',
  '@sigstore/verify',
];
for (const m of modules) await import(m);
flushCompileCache();
process.stdout.write(`compile cache in ${getCompileCacheDir()}: ${modules.length} entry points\n`);
