// A kubeconfig with one cluster and a context per user: `admin` is current, and
// `kubectl --context alice` acts as alice. Tokens are inline, the CA is embedded.

import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { USER_NAMES, type Tokens } from './users.ts';

export const CLUSTER_NAME = 'bulwark-e2e';

export interface KubeconfigOptions {
  file: string;
  server: string;
  caPem: string;
  tokens: Tokens;
}

export async function writeKubeconfig(options: KubeconfigOptions): Promise<void> {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'admin',
    clusters: [
      {
        name: CLUSTER_NAME,
        cluster: {
          server: options.server,
          'certificate-authority-data': Buffer.from(options.caPem).toString('base64'),
        },
      },
    ],
    users: USER_NAMES.map((name) => ({ name, user: { token: options.tokens[name] } })),
    contexts: USER_NAMES.map((name) => ({
      name,
      context: { cluster: CLUSTER_NAME, user: name, namespace: 'default' },
    })),
  };
  await writeFile(options.file, stringify(config), { mode: 0o600 });
}
