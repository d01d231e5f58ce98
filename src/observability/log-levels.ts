// The log levels, apart from the logger itself: the command line lists them for
// `--log-level` without loading pino (start-up time of `bulwark --help`).

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
