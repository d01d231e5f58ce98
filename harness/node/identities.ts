// Who the node's components are to the apiserver: static tokens for the users that
// Kubernetes' bootstrap RBAC already grants their roles (system:kube-controller-manager,
// system:kube-scheduler, system:kube-proxy) and the node identity that the Node
// authorizer and NodeRestriction expect of a kubelet. Each gets its own kubeconfig.

import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';

export const NODE_NAME = 'bulwark-node';

export const COMPONENTS = {
  'kube-controller-manager': { user: 'system:kube-controller-manager', groups: [] },
  'kube-scheduler': { user: 'system:kube-scheduler', groups: [] },
  kubelet: { user: `system:node:${NODE_NAME}`, groups: ['system:nodes'] },
  'kube-proxy': { user: 'system:kube-proxy', groups: [] },
} as const satisfies Record<string, { user: string; groups: readonly string[] }>;

export type Component = keyof typeof COMPONENTS;
export type ComponentTokens = Record<Component, string>;
const NAMES = Object.keys(COMPONENTS) as Component[];

export function randomComponentTokens(): ComponentTokens {
  return Object.fromEntries(NAMES.map((n) => [n, randomBytes(24).toString('hex')])) as ComponentTokens;
}

/** Lines for the apiserver's --token-auth-file: token,user,uid,"groups". */
export function componentTokenLines(tokens: ComponentTokens): string[] {
  return NAMES.map(
    (n) => `${tokens[n]},${COMPONENTS[n].user},${COMPONENTS[n].user},"${COMPONENTS[n].groups.join(',')}"`,
  );
}

/** Writes `<dir>/<component>.kubeconfig` for each component; returns the paths. */
export async function writeComponentKubeconfigs(
  dir: string,
  server: string,
  caPem: string,
  tokens: ComponentTokens,
): Promise<Record<Component, string>> {
  const files = {} as Record<Component, string>;
  for (const name of NAMES) {
    const file = join(dir, `${name}.kubeconfig`);
    await writeFile(
      file,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': name,
        clusters: [
          { name: 'local', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } },
        ],
        users: [{ name, user: { token: tokens[name] } }],
        contexts: [{ name, context: { cluster: 'local', user: name } }],
      }),
      { mode: 0o600 },
    );
    files[name] = file;
  }
  return files;
}
