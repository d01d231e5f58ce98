// POST /validate on plain node:http primitives: the hot path skips express's request
// decoration and body-parser (a quarter of the CPU per review in `npm run bench`).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseReview } from '../admission/decode.ts';
import { decide, type DecideDeps } from '../review/decide.ts';
import type { BaseError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { logDecision } from './log-decision.ts';
import { BodyTooLargeError, readBody } from './read-body.ts';

export interface ValidateOptions {
  decideDeps: DecideDeps;
  logger: Logger;
  metrics: Metrics;
  maxBodyBytes: number;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const json = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

export function sendError(res: ServerResponse, status: number, code: string, message: string, problems?: unknown): void {
  sendJson(res, status, { error: { code, message, ...(problems ? { problems } : {}) } });
}

export function createValidateHandler(options: ValidateOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { decideDeps, logger, metrics } = options;
  return async (req, res) => {
    const started = process.hrtime.bigint();
    let body: Buffer;
    try {
      body = await readBody(req, options.maxBodyBytes);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        metrics.observeRejected('too_large');
        sendError(res, 413, 'REVIEW_TOO_LARGE', err.message);
      } else {
        logger.warn({ err: (err as Error).message }, 'could not read request body');
        sendError(res, 400, 'REVIEW_MALFORMED', `could not read the request body: ${(err as Error).message}`);
      }
      return;
    }
    let review;
    try {
      review = parseReview(body);
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
    sendJson(res, 200, decided.review);
  };
}
