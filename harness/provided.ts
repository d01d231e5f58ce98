// What the e2e global setup hands to test files through vitest's provide/inject. Only
// plain data crosses from the main process to the test workers.

import type { Tokens } from './users.ts';

export interface ProvidedCluster {
  /** Admin kubeconfig; contexts admin (current), alice, bob, carol, dave. */
  kubeconfig: string;
  /** The cluster directory: logs (etcd.log, kube-apiserver.log, bulwark.log), certificates. */
  dir: string;
  /** https://127.0.0.1:PORT of the apiserver. */
  server: string;
  webhookPort: number;
  kubectlPath: string;
  tokens: Tokens;
}

declare module 'vitest' {
  export interface ProvidedContext extends ProvidedCluster {}
}
