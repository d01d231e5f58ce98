// Structured JSON logs (pino). One logger per process, created by the composition root
// and passed down; nothing imports a global logger.

import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Logs go to stdout asynchronously: a synchronous write per decision (pino's default)
 * costs a system call on the request path. pino flushes the buffer on exit.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = { level, base: { app: 'bulwark' }, timestamp: pino.stdTimeFunctions.isoTime };
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}
