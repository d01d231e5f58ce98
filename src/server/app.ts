// The HTTP application, without listening: tests drive it in-process or over real
// HTTPS, main.ts mounts it on the TLS server. Four routes on node:http alone: express
// (47 packages of its own, 75 ms to import) served nothing but the three GET endpoints,
// the admission hot path having bypassed it already.

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ReviewDecoder } from '../admission/decode.ts';
import { BaseError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { DecideDeps } from '../review/decide.ts';
import { createValidateHandler, sendError, sendJson } from './validate-handler.ts';
import { createMutateHandler } from './mutate-handler.ts';
import { createBodyBudget } from './body-budget.ts';
import type { AttestationKeyRing } from '../attestation/keys.ts';

export interface Readiness {
  ready: boolean;
  reason?: string;
}

export interface AppOptions {
  decideDeps: DecideDeps;
  decoder: ReviewDecoder;
  logger: Logger;
  metrics: Metrics;
  readiness: () => Readiness;
  /** Whether this app answers /metrics (false when a metrics port of its own serves it). */
  serveMetrics?: boolean;
  /** Largest accepted request body, in bytes; larger bodies get HTTP 413. */
  maxBodyBytes: number;
  /** Bulwark's attestation keys, for POST /mutate (absent: the route answers as if keys were not yet read). */
  attestationKeys?: () => AttestationKeyRing | undefined;
  /** Request-body bytes held at once across requests; beyond them, HTTP 429 (see body-budget.ts). */
  maxInFlightBytes: number;
}

function pathOf(url: string | undefined): string {
  const q = url?.indexOf('?') ?? -1;
  return q >= 0 ? url!.slice(0, q) : (url ?? '/');
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** GET /metrics in Prometheus' text format. */
export function metricsHandler(metrics: Metrics): Handler {
  return async (_req, res) => sendText(res, 200, metrics.registry.contentType, await metrics.registry.metrics());
}

/** The metrics port's listener: GET /metrics and nothing else. */
/**
 * The plain-HTTP port: /metrics, and the health endpoints, which kubelet probes can reach
 * there when the HTTPS port requires client certificates (--client-ca).
 */
export function createMetricsApp(metrics: Metrics, readiness?: AppOptions['readiness']): RequestListener {
  const serve = metricsHandler(metrics);
  return (req, res) => {
    const path = pathOf(req.url);
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (path === '/metrics') {
        void Promise.resolve(serve(req, res)).catch(() => res.destroy());
        return;
      }
      if (path === '/healthz') return sendText(res, 200, 'text/plain; charset=utf-8', 'ok');
      if (path === '/readyz' && readiness) {
        const r = readiness();
        return sendJson(res, r.ready ? 200 : 503, r);
      }
    }
    req.resume();
    sendError(res, new BaseError('NOT_FOUND', 'no such endpoint: GET /metrics, /healthz, /readyz'));
  };
}

function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function createApp(options: AppOptions): RequestListener {
  const { logger, metrics } = options;
  /** GET (and HEAD, which node:http answers without the body) by path. */
  const reads = new Map<string, Handler>([
    ['/healthz', (_req, res) => sendText(res, 200, 'text/plain; charset=utf-8', 'ok')],
    [
      '/readyz',
      (_req, res) => {
        const r = options.readiness();
        sendJson(res, r.ready ? 200 : 503, r);
      },
    ],
  ]);
  if (options.serveMetrics !== false) reads.set('/metrics', metricsHandler(metrics));
  // One in-flight byte budget for both routes: memory is bounded per process, not per route.
  const budget = createBodyBudget(options.maxInFlightBytes);
  const validate = createValidateHandler({ ...options, budget });
  const mutate = createMutateHandler({
    keys: options.attestationKeys ?? (() => undefined),
    logger,
    decoder: options.decoder,
    limits: { maxBodyBytes: options.maxBodyBytes, budget },
  });
  const notFound: Handler = (req, res) => {
    req.resume();
    sendError(
      res,
      new BaseError('NOT_FOUND', 'no such endpoint: POST /validate, /mutate, GET /healthz, /readyz, /metrics'),
    );
  };

  return (req, res) => {
    const path = pathOf(req.url);
    const handler =
      req.method === 'POST' && path === '/validate'
        ? validate
        : req.method === 'POST' && path === '/mutate'
          ? mutate
          : req.method === 'GET' || req.method === 'HEAD'
            ? (reads.get(path) ?? notFound)
            : notFound;
    const fail = (err: unknown) => {
      logger.error({ err, path }, 'unexpected error serving a request');
      if (!res.headersSent) sendError(res, new BaseError('INTERNAL'));
    };
    // Called at once, not from a promise's callback: one microtask and closure less per review.
    try {
      handler(req, res)?.catch(fail);
    } catch (err) {
      fail(err);
    }
  };
}
