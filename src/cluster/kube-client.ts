// A minimal Kubernetes API reader on top of client-node's KubeConfig (which handles
// kubeconfig files, in-cluster service accounts, client certificates and tokens).
// Lookups on the request path need a hard deadline; this adds one to every call.

import { request as httpsRequest, type RequestOptions } from 'node:https';
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { BaseError } from '../errors.ts';

export interface KubeReader {
  /** GET an API path; resolves `undefined` on 404. */
  getJson(path: string, options: { timeoutMs: number }): Promise<unknown>;
  readonly server: string;
  readonly kubeConfig: KubeConfig;
}

export type ClusterMode = 'auto' | 'required' | 'none';

/**
 * Loads cluster credentials: an explicit kubeconfig, else in-cluster configuration,
 * else `$KUBECONFIG`. `auto` returns undefined when none is present; `required` throws.
 */
export function loadKubeConfig(mode: ClusterMode, kubeconfig?: string): KubeConfig | undefined {
  if (mode === 'none') return undefined;
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) kc.loadFromCluster();
  else if (process.env.KUBECONFIG) kc.loadFromFile(process.env.KUBECONFIG);
  else if (mode === 'required') throw new BaseError('CONFIG_INVALID', 'a cluster connection is required but no kubeconfig or in-cluster configuration was found');
  else return undefined;
  if (!kc.getCurrentCluster()) throw new BaseError('CONFIG_INVALID', 'the kubeconfig has no current cluster');
  return kc;
}

export function createKubeReader(kc: KubeConfig): KubeReader {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new BaseError('CONFIG_INVALID', 'the kubeconfig has no current cluster');
  const base = new URL(cluster.server);
  return {
    server: cluster.server,
    kubeConfig: kc,
    async getJson(path, { timeoutMs }) {
      const options: RequestOptions = {
        protocol: base.protocol,
        hostname: base.hostname,
        port: base.port,
        path: `${base.pathname.replace(/\/$/, '')}${path}`,
        method: 'GET',
        headers: { accept: 'application/json' },
      };
      await kc.applyToHTTPSOptions(options);
      return await new Promise((resolve, reject) => {
        const req = httpsRequest(options, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode === 404) return resolve(undefined);
            if (res.statusCode !== 200) return reject(new Error(`GET ${path}: HTTP ${res.statusCode}: ${body.slice(0, 200)}`));
            try {
              resolve(JSON.parse(body));
            } catch (err) {
              reject(new Error(`GET ${path}: response is not JSON: ${(err as Error).message}`));
            }
          });
          res.on('error', reject);
        });
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${path}: no answer within ${timeoutMs} ms`)));
        req.on('error', reject);
        req.end();
      });
    },
  };
}
