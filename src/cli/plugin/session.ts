// What every plugin command needs: the user's kubeconfig (honouring --kubeconfig,
// --context and $KUBECONFIG like kubectl), an API client, discovery, and who the API
// server says the user is (SelfSubjectReview), which is what Bulwark checks.

import { KubeConfig } from '@kubernetes/client-node';
import { createDiscovery, type Discovery } from '../../cluster/discovery.ts';
import { createKubeReader, type KubeClient } from '../../cluster/kube-client.ts';
import { BaseError } from '../../errors.ts';

export const TIMEOUT_MS = 15_000;

export interface KubeOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface Session {
  client: KubeClient;
  discovery: Discovery;
  /** The namespace from -n, else the context's, else `default`. */
  namespace: string;
  whoami(): Promise<{ username: string; groups: string[] }>;
}

export function openSession(options: KubeOptions): Session {
  const kc = new KubeConfig();
  if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromDefault();
  if (options.context) kc.setCurrentContext(options.context);
  if (!kc.getCurrentCluster())
    throw new BaseError('CLI_USAGE', 'no cluster in the kubeconfig (use --kubeconfig or $KUBECONFIG)');
  const client = createKubeReader(kc);
  const contextNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  return {
    client,
    discovery: createDiscovery(client, { timeoutMs: TIMEOUT_MS }),
    namespace: options.namespace ?? contextNamespace ?? 'default',
    async whoami() {
      const review = { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' };
      const res = await client.call('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
        body: JSON.stringify(review),
        timeoutMs: TIMEOUT_MS,
      });
      const info = (res.body as { status?: { userInfo?: { username?: string; groups?: string[] } } } | undefined)
        ?.status?.userInfo;
      if (res.status !== 201 && res.status !== 200)
        throw new BaseError('CLI_USAGE', `cannot ask the API server who you are: HTTP ${res.status}`);
      if (!info?.username) throw new BaseError('CLI_USAGE', 'the API server did not say who you are');
      return { username: info.username, groups: info.groups ?? [] };
    },
  };
}

/** The API server's message from a failed call (a Status object), or the HTTP status. */
export function apiMessage(res: { status: number; body: unknown }): string {
  const message = (res.body as { message?: string } | undefined)?.message;
  return message ?? `HTTP ${res.status}`;
}
