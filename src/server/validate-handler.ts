// POST /validate on plain node:http primitives: no request decoration, no body-parser
// (they cost a quarter of the CPU per review in `npm run bench` when express served it).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReviewDecoder } from '../admission/decode.ts';
import type { AdmissionReviewRequest } from '../admission/types.ts';
import { decide, type DecideDeps } from '../review/decide.ts';
import { encodeResponseText } from '../review/encode.ts';
import { BaseError, isBulwarkError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { logDecision } from './log-decision.ts';
import { closeAfterAnswer } from './protocol.ts';
import { readBody } from './read-body.ts';
import { createBodyBudget, type BodyBudget } from './body-budget.ts';
import { clip, clipList } from '../observability/bounded.ts';
import { sampledWarning } from '../observability/sampled-warning.ts';

export interface ValidateOptions {
  decideDeps: DecideDeps;
  /** Parses and schema-checks a body (its schema compiled once, at start-up). */
  decoder: ReviewDecoder;
  logger: Logger;
  metrics: Metrics;
  maxBodyBytes: number;
  /** Request-body bytes held at once across requests; beyond them, HTTP 429. */
  maxInFlightBytes: number;
  /** The budget to draw on (shared with /mutate); made from maxInFlightBytes when absent. */
  budget?: BodyBudget;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendJsonText(res, status, JSON.stringify(value));
}

/** Already JSON text: headers as a flat list (node:http takes it without building a header object). */
function sendJsonText(res: ServerResponse, status: number, json: string): void {
  res.writeHead(status, ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(json))]);
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
  const limits = {
    maxBodyBytes: options.maxBodyBytes,
    budget: options.budget ?? createBodyBudget(options.maxInFlightBytes),
  };
  const noise = sampledWarning(logger);
  return async (req, res) => {
    const started = process.hrtime.bigint();
    const reading = readBody(req, limits);
    res.once('close', reading.release);
    let body: Buffer;
    try {
      body = await reading.body;
    } catch (err) {
      const error = isBulwarkError(err) ? err : new BaseError('REVIEW_UNREADABLE', undefined, { cause: err });
      // The rest of the body stays unread and the connection closes after the answer: the
      // client gets the 413/429 or, if it is still sending, a reset (both fail the request fast).
      closeAfterAnswer(req, res);
      if (error.code === 'REVIEW_TOO_LARGE') metrics.observeRejected('too_large');
      else if (error.code === 'SERVER_BUSY') {
        metrics.observeRejected('busy');
        res.setHeader('retry-after', '1');
      } else {
        metrics.observeRejected('unreadable');
        noise.warn({ err: clip(error.message) }, 'could not read request body');
      }
      sendError(res, error);
      return;
    }
    let review: AdmissionReviewRequest;
    try {
      review = options.decoder.parse(body);
    } catch (err) {
      const error = isBulwarkError(err) ? err : new BaseError('REVIEW_MALFORMED', undefined, { cause: err });
      metrics.observeRejected('malformed');
      const problems = clipList(error.problems.map((p) => `${p.path}: ${p.message}`));
      noise.warn({ err: clip(error.message), problems }, 'rejected malformed admission review');
      sendError(res, error);
      return;
    }
    const decided = await decide(review, decideDeps);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (decided.error !== undefined) metrics.observeRejected('error');
    metrics.observeReview(decided.verdict, review.request.operation, seconds);
    logDecision(logger, review.request, decided, seconds);
    // Sent last, as before: sending first and counting and logging after cost 3 to 15 points of
    // throughput at CPU parity in interleaved before/after runs under wrk (issue 19), for no CPU saved.
    sendJsonText(res, 200, encodeResponseText(review.request.uid, decided.verdict));
  };
}
