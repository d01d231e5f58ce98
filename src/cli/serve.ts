// `bulwark serve`: run the webhook until SIGTERM/SIGINT, then drain and exit.

import type { Command } from 'commander';
import { addServeOptions, toOverrides, type ParsedOptions } from './options.ts';

export function registerServe(program: Command): void {
  addServeOptions(
    program
      .command('serve')
      .description('serve the admission webhook over HTTPS (POST /validate, /healthz, /readyz, /metrics)'),
  ).action(async (options: ParsedOptions) => {
    // Imported here, not at the top: `bulwark --help` and the other commands need none of the server.
    const [{ loadConfig }, { startBulwark }, { createLogger }] = await Promise.all([
      import('../config/load.ts'),
      import('../main.ts'),
      import('../observability/logger.ts'),
    ]);
    const config = await loadConfig({ file: options.config, overrides: toOverrides(options) });
    const logger = createLogger(config.logLevel);
    const running = await startBulwark(config, logger);
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        logger.info({ signal }, 'shutting down: draining in-flight requests');
        running.close().then(
          () => {
            logger.info('stopped');
            resolve();
          },
          (err: unknown) => {
            logger.error({ err }, 'error while shutting down');
            resolve();
          },
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  });
}
