// A minimal Kubernetes API reader on top of a KubeConnection (kube-config.ts: in-cluster
// service accounts, kubeconfig files; client-node's KubeConfig only for exotic ones).
// Lookups on the request path need a hard deadline; this adds one to every call.

import type { IncomingMessage } from 'node:http';
import type * as Https from 'node:https';
import type { RequestOptions } from 'node:https';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { BaseError, isBulwarkError, messageOf } from '../errors.ts';
import { connectionFromFile, inClusterConnection, type KubeConnection } from './kube-config.ts';

// Required, not imported: an ESM import of node:https builds its ESM facade, which loads undici (start-up time).
const { Agent, request: httpsRequest } = createRequire(import.meta.url)('node:https') as typeof Https;

export interface KubeReader {
  /**
   * GET an API path; resolves `undefined` on 404. `accept` asks for another representation
   * (metadata only, aggregated discovery). Any other status is a KUBE_API_ERROR whose
   * `upstream` holds the status and the server's retry hint (429, some 5xx).
   */
  getJson(path: string, options: { timeoutMs: number; accept?: string }): Promise<unknown>;
  /** PATCH an API path with a JSON merge patch; resolves `undefined` on 404. */
  mergePatch(path: string, patch: unknown, options: { timeoutMs: number }): Promise<unknown>;
  /**
   * GET a streaming path (a watch) on a connection of its own: resolves with the response
   * once its headers arrived, whatever its status; `signal` ends it, before or after.
   */
  stream(path: string, options: { accept?: string; signal: AbortSignal }): Promise<IncomingMessage>;
  readonly server: string;
}

/** A reader that can also make any call (the kubectl plugin writes objects). */
export interface KubeClient extends KubeReader {
  /** Any call; never throws on an HTTP status, only on transport errors. */
  call(
    method: string,
    path: string,
    options: { body?: string; contentType?: string; timeoutMs: number },
  ): Promise<CallResult>;
}

export interface CallResult {
  status: number;
  body: unknown;
  /** The texts of the response's Warning headers (admission webhooks' warnings among them). */
  warnings?: string[];
}

/** `299 - "text"` (RFC 7234 warn-value, as the apiserver writes it) -> `text`. */
export function warningText(value: string): string {
  const quoted = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/.exec(value);
  return quoted ? quoted[1]!.replace(/\\(.)/g, '$1') : value;
}

export type ClusterMode = 'auto' | 'required' | 'none';

/**
 * Loads cluster credentials: an explicit kubeconfig, else in-cluster configuration,
 * else `$KUBECONFIG`. `auto` returns undefined when none is present; `required` throws.
 */
export async function loadKubeConfig(mode: ClusterMode, kubeconfig?: string): Promise<KubeConnection | undefined> {
  if (mode === 'none') return undefined;
  let kc: KubeConnection;
  if (kubeconfig) kc = await connectionFromFile(kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token'))
    kc = inClusterConnection();
  else if (process.env.KUBECONFIG) kc = await connectionFromFile(process.env.KUBECONFIG);
  else if (mode === 'required')
    throw new BaseError(
      'CONFIG_INVALID',
      'a cluster connection is required but no kubeconfig or in-cluster configuration was found',
    );
  else return undefined;
  if (!kc.getCurrentCluster()) throw new BaseError('CONFIG_INVALID', 'the kubeconfig has no current cluster');
  return kc;
}

export function createKubeReader(kc: KubeConnection): KubeClient {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new BaseError('CONFIG_INVALID', 'the kubeconfig has no current cluster');
  const base = new URL(cluster.server);
  // Lookups happen on the request path: reuse connections instead of a TLS handshake each.
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  return {
    server: cluster.server,
    getJson: (path, { timeoutMs, accept }) => send('GET', path, undefined, timeoutMs, accept),
    mergePatch: (path, patch, { timeoutMs }) => send('PATCH', path, JSON.stringify(patch), timeoutMs),
    call: (method, path, { body, contentType, timeoutMs }) =>
      raw(method, path, body, contentType ?? 'application/json', timeoutMs),
    stream,
  };

  async function requestOptions(method: string, path: string, headers: Record<string, string>) {
    const options: RequestOptions = {
      protocol: base.protocol,
      hostname: base.hostname,
      port: base.port,
      path: `${base.pathname.replace(/\/$/, '')}${path}`,
      method,
      headers,
    };
    await kc.applyToHTTPSOptions(options);
    options.agent = agent; // client-node's applyToHTTPSOptions sets a fresh agent; TLS settings stay on the options
    return options;
  }

  async function stream(path: string, { accept, signal }: { accept?: string; signal: AbortSignal }) {
    const options = await requestOptions('GET', path, { accept: accept ?? 'application/json' });
    return await new Promise<IncomingMessage>((resolve, reject) => {
      // A watch holds its connection for minutes: not one of the pooled ones the lookups share.
      const req = httpsRequest({ ...options, agent: false, signal }, resolve);
      req.on('error', (err) => reject(unreachable(err)));
      req.end();
    });
  }

  async function send(
    method: string,
    path: string,
    body: string | undefined,
    timeoutMs: number,
    accept?: string,
  ): Promise<unknown> {
    const res = await raw(method, path, body, 'application/merge-patch+json', timeoutMs, accept);
    if (res.status === 404) return undefined;
    if (res.status !== 200) {
      const retry = (res.body as { details?: { retryAfterSeconds?: number } } | undefined)?.details?.retryAfterSeconds;
      const upstream = { status: res.status, ...(retry !== undefined ? { retryAfterSeconds: retry } : {}) };
      throw new BaseError(
        'KUBE_API_ERROR',
        `${method} ${path}: HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 200)}`,
        { upstream },
      );
    }
    return res.body;
  }

  function unreachable(err: Error): BaseError {
    return isBulwarkError(err)
      ? err
      : new BaseError('KUBE_API_UNREACHABLE', `${cluster!.server}: ${messageOf(err)}`, { cause: err });
  }

  async function raw(
    method: string,
    path: string,
    body: string | undefined,
    contentType: string,
    timeoutMs: number,
    accept = 'application/json',
  ): Promise<CallResult> {
    const options = await requestOptions(method, path, {
      accept,
      ...(body !== undefined ? { 'content-type': contentType } : {}),
    });
    return await new Promise((resolve, reject) => {
      const req = httpsRequest(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const warnings: string[] = [];
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2)
            if (res.rawHeaders[i]!.toLowerCase() === 'warning') warnings.push(warningText(res.rawHeaders[i + 1]!));
          try {
            resolve({
              status: res.statusCode ?? 0,
              body: text === '' ? undefined : JSON.parse(text),
              ...(warnings.length > 0 ? { warnings } : {}),
            });
          } catch (err) {
            reject(
              new BaseError(
                'KUBE_API_BAD_RESPONSE',
                `${method} ${path}: HTTP ${res.statusCode}, response is not JSON: ${messageOf(err)}`,
                { cause: err },
              ),
            );
          }
        });
        res.on('error', (err) => reject(unreachable(err)));
      });
      req.setTimeout(timeoutMs, () =>
        req.destroy(new BaseError('KUBE_API_UNREACHABLE', `${method} ${path}: no answer within ${timeoutMs} ms`)),
      );
      req.on('error', (err) => reject(unreachable(err)));
      req.end(body);
    });
  }
}
