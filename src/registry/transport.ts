// One HTTP exchange with a registry: keep-alive agents per origin (and CA bundle),
// a body size limit enforced while reading, the caller's AbortSignal honoured from
// connect to the last byte, and failures turned into coded errors that name the
// registry and what was asked for.

import { createHash } from 'node:crypto';
import type * as Http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';
import { getCACertificates } from 'node:tls';
import { BaseError } from '../errors.ts';

// Required, not imported: an ESM import of node:http(s) builds the module's ESM facade,
// which reads every export, and one of them loads undici: 50-100 ms of the CLI's start-up.
const require = createRequire(import.meta.url);
const { Agent: HttpAgent, request: httpRequest } = require('node:http') as typeof Http;
const { Agent: HttpsAgent, request: httpsRequest } = require('node:https') as typeof Https;

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface ExchangeOptions {
  method: 'GET' | 'HEAD';
  url: URL;
  headers: Record<string, string>;
  /** The body is read up to this many bytes; beyond it the request fails. */
  maxBytes: number;
  /** PEM CA certificates trusted in addition to the defaults (the policy's, when it has one). */
  caBundle?: string | undefined;
  signal: AbortSignal;
  /** For messages: `manifest demo/app@sha256:...`. */
  what: string;
  /** For messages: the registry as the image names it. */
  registry: string;
}

export interface AgentPool {
  agentFor(url: URL, caBundle: string | undefined): Http.Agent;
  destroy(): void;
}

/** Keep-alive agents, one per origin and CA bundle: connections are reused across verifications. */
export function createAgentPool(options: { maxSocketsPerOrigin?: number } = {}): AgentPool {
  const agents = new Map<string, Http.Agent>();
  const maxSockets = options.maxSocketsPerOrigin ?? 16;
  return {
    agentFor(url, caBundle) {
      const caKey = caBundle ? createHash('sha256').update(caBundle).digest('hex').slice(0, 16) : '';
      const key = `${url.protocol}//${url.host}|${caKey}`;
      let agent = agents.get(key);
      if (!agent) {
        agent =
          url.protocol === 'https:'
            ? new HttpsAgent({
                keepAlive: true,
                maxSockets,
                ...(caBundle ? { ca: [...getCACertificates('default'), caBundle] } : {}),
              })
            : new HttpAgent({ keepAlive: true, maxSockets });
        agents.set(key, agent);
      }
      return agent;
    },
    destroy() {
      for (const agent of agents.values()) agent.destroy();
      agents.clear();
    },
  };
}

function describeNetworkError(err: NodeJS.ErrnoException): string {
  return err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message;
}

export function abortedError(registry: string, what: string, signal: AbortSignal): BaseError<'REGISTRY_ABORTED'> {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'aborted';
  return new BaseError('REGISTRY_ABORTED', `request to registry ${registry} for ${what} was aborted (${reason})`, {
    cause: signal.reason,
  });
}

export function exchange(pool: AgentPool, options: ExchangeOptions): Promise<HttpResponse> {
  const { url, signal, registry, what } = options;
  if (signal.aborted) return Promise.reject(abortedError(registry, what, signal));
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      req.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(abortedError(registry, what, signal));
    const req = send(
      url,
      { method: options.method, headers: options.headers, agent: pool.agentFor(url, options.caBundle) },
      (res: IncomingMessage) => {
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > options.maxBytes) {
          fail(
            new BaseError(
              'REGISTRY_BAD_RESPONSE',
              `registry ${registry} answered ${what} with ${declared} bytes, more than the limit ` +
                `of ${options.maxBytes}`,
            ),
          );
          return;
        }
        const chunks: Buffer[] = [];
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > options.maxBytes) {
            fail(
              new BaseError(
                'REGISTRY_BAD_RESPONSE',
                `registry ${registry} answered ${what} with more than the limit of ${options.maxBytes} bytes`,
              ),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          signal.removeEventListener('abort', onAbort);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('error', (err) => fail(signal.aborted ? abortedError(registry, what, signal) : unreachable(err)));
        res.on('aborted', () =>
          fail(
            new BaseError('REGISTRY_BAD_RESPONSE', `registry ${registry} closed the connection while sending ${what}`),
          ),
        );
      },
    );
    const unreachable = (err: NodeJS.ErrnoException): BaseError =>
      new BaseError(
        'REGISTRY_UNREACHABLE',
        `registry ${registry} could not be reached for ${what}: ${describeNetworkError(err)}`,
        { cause: err },
      );
    req.on('error', (err: NodeJS.ErrnoException) =>
      fail(signal.aborted ? abortedError(registry, what, signal) : unreachable(err)),
    );
    signal.addEventListener('abort', onAbort, { once: true });
    req.end();
  });
}
