// The HTTP application (express), without listening: tests drive it in-process or over
// real HTTPS, main.ts mounts it on the TLS server.

import express, { type NextFunction, type Request, type Response } from 'express';
import { parseReview } from '../admission/decode.ts';
import { decide, type DecideDeps } from '../decision/decide.ts';
import { BaseError, isBulwarkError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { logDecision } from './log-decision.ts';

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

function sendError(res: Response, status: number, code: string, message: string, problems?: unknown): void {
  res.status(status).json({ error: { code, message, ...(problems ? { problems } : {}) } });
}

export function createApp(options: AppOptions): express.Express {
  const { decideDeps, logger, metrics } = options;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('trust proxy', false);

  app.post('/validate', express.raw({ type: () => true, limit: options.maxBodyBytes }), async (req: Request, res: Response) => {
    const started = process.hrtime.bigint();
    let review;
    try {
      review = parseReview(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    } catch (err) {
      const e = err as BaseError;
      metrics.observeRejected('malformed');
      logger.warn({ err: e.message, problems: e.problems }, 'rejected malformed admission review');
      sendError(res, 400, e.code, e.message, e.problems);
      return;
    }
    const decided = await decide(review, decideDeps);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (decided.error !== undefined) metrics.observeRejected('error');
    metrics.observeReview(decided.verdict, review.request.operation, seconds);
    logDecision(logger, review.request, decided, seconds);
    res.status(200).json(decided.review);
  });

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

  app.use((_req, res) => sendError(res, 404, 'NOT_FOUND', 'no such endpoint: POST /validate, GET /healthz, /readyz, /metrics'));

  // Errors raised before a review is decoded: body too large, unreadable body.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.too.large') {
      metrics.observeRejected('too_large');
      sendError(res, 413, 'REVIEW_TOO_LARGE', `request body exceeds the limit of ${options.maxBodyBytes} bytes`);
      return;
    }
    if (isBulwarkError(err) || (e.status !== undefined && e.status < 500)) {
      metrics.observeRejected('malformed');
      sendError(res, e.status ?? 400, 'REVIEW_MALFORMED', e.message ?? 'bad request');
      return;
    }
    logger.error({ err }, 'unexpected error outside a review');
    sendError(res, 500, 'INTERNAL', 'internal error');
  });
  return app;
}
