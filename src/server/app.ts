// The HTTP application, without listening: tests drive it in-process or over real
// HTTPS, main.ts mounts it on the TLS server. POST /validate is the hot path and is
// served directly; everything else goes through express.

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { BaseError } from '../errors.ts';
import type { DecideDeps } from '../review/decide.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { createValidateHandler, sendError } from './validate-handler.ts';

export interface Readiness {
  ready: boolean;
  reason?: string;
}

export interface AppOptions {
  decideDeps: DecideDeps;
  logger: Logger;
  metrics: Metrics;
  readiness: () => Readiness;
  /** Largest accepted request body, in bytes; larger bodies get HTTP 413. */
  maxBodyBytes: number;
}

function pathOf(url: string | undefined): string {
  const q = url?.indexOf('?') ?? -1;
  return q >= 0 ? url!.slice(0, q) : (url ?? '/');
}

export function createApp(options: AppOptions): RequestListener {
  const { logger, metrics } = options;
  const validate = createValidateHandler(options);
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  app.get('/healthz', (_req, res) => {
    res.status(200).type('text/plain').send('ok');
  });

  app.get('/readyz', (_req, res) => {
    const r = options.readiness();
    res.status(r.ready ? 200 : 503).json(r);
  });

  app.get('/metrics', async (_req, res) => {
    res.status(200).type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use((_req, res) => sendError(res, new BaseError('NOT_FOUND', 'no such endpoint: POST /validate, GET /healthz, /readyz, /metrics')));

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    logger.error({ err }, 'unexpected error outside a review');
    sendError(res, new BaseError('INTERNAL'));
  });

  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'POST' && pathOf(req.url) === '/validate') {
      validate(req, res).catch((err: unknown) => {
        logger.error({ err }, 'unexpected error serving /validate');
        if (!res.headersSent) sendError(res, new BaseError('INTERNAL'));
      });
    } else {
      app(req, res);
    }
  };
}
