// POST /validate on plain node:http primitives: no request decoration, no body-parser
// (they cost a quarter of the CPU per review in `npm run bench` when express served it).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReviewDecoder } from '../admission/decode.ts';
import type { AdmissionReviewRequest } from '../admission/types.ts';
import { decide, type DecideDeps } from '../review/decide.ts';
import { BaseError, isBulwarkError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { logDecision } from './log-decision.ts';
import { readBody } from './read-body.ts';

export interface ValidateOptions {
  decideDeps: DecideDeps;
  /** Parses and schema-checks a body (its schema compiled once, at start-up). */
  decoder: ReviewDecoder;
  logger: Logger;
  metrics: Metrics;
  maxBodyBytes: number;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const json = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

/** A request that ends without a review: the code's HTTP status, and `{error: {code, message, problems}}`. */
export function sendError(res: ServerResponse, error: BaseError): void {
  const problems = error.problems.length > 0 ? { problems: error.problems } : {};
  sendJson(res, error.status, { error: { code: error.code, message: error.message, ...problems } });
}

export function createValidateHandler(
  options: ValidateOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { decideDeps, logger, metrics } = options;
  return async (req, res) => {
    const started = process.hrtime.bigint();
    let body: Buffer;
    try {
      body = await readBody(req, options.maxBodyBytes);
    } catch (err) {
      const error = isBulwarkError(err) ? err : new BaseError('REVIEW_UNREADABLE', undefined, { cause: err });
      if (error.code === 'REVIEW_TOO_LARGE') metrics.observeRejected('too_large');
      else logger.warn({ err: error.message }, 'could not read request body');
      sendError(res, error);
      return;
    }
    let review: AdmissionReviewRequest;
    try {
      review = options.decoder.parse(body);
    } catch (err) {
      const error = isBulwarkError(err) ? err : new BaseError('REVIEW_MALFORMED', undefined, { cause: err });
      metrics.observeRejected('malformed');
      logger.warn({ err: error.message, problems: error.problems }, 'rejected malformed admission review');
      sendError(res, error);
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
