// `bulwark serve`: run the webhook until SIGTERM/SIGINT, then drain and exit.

import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { startBulwark } from '../main.ts';
import { createLogger } from '../observability/logger.ts';
import { addServeOptions, toOverrides, type ParsedOptions } from './options.ts';

export function registerServe(program: Command): void {
  addServeOptions(
    program
      .command('serve')
      .description('serve the admission webhook over HTTPS (POST /validate, /healthz, /readyz, /metrics)'),
  ).action(async (options: ParsedOptions) => {
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
