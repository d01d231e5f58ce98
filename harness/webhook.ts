// Bulwark as a local process, serving HTTPS on loopback with a certificate the
// apiserver trusts through the webhook's caBundle. The command can be replaced (a
// capture recorder stands in for Bulwark when fixtures are recorded); placeholders in
// it are filled in, and the same values are in the environment.

import { join } from 'node:path';
import { nodeBinary, REPO_ROOT } from './paths.ts';
import type { ServingFiles } from './pki.ts';
import { waitReady } from './poll.ts';
import { startProcess, type ManagedProcess } from './processes.ts';
import { POLICY_ADMIN_GROUPS } from './self-protection.ts';
import { BULWARK_NAMESPACE } from './registration.ts';

/**
 * The default command. `{port}`, `{host}`, `{cert}`, `{key}`, `{ca}`, `{kubeconfig}`
 * and `{dir}` are replaced in every argument of a custom `webhookCommand`.
 */
export function defaultWebhookCommand(): string[] {
  return [
    nodeBinary(),
    join(REPO_ROOT, 'bin', 'bulwark.js'),
    'serve',
    '--host',
    '{host}',
    '--port',
    '{port}',
    '--cert',
    '{cert}',
    '--key',
    '{key}',
    '--kubeconfig',
    '{kubeconfig}',
    '--cluster',
    'required',
    // HTTP/2 is opt-in (README "protocols"); the e2e tier runs it so that every e2e file
    // drives the HTTP/2 path through the real apiserver, while e2e-full's chart runs the
    // default, HTTP/1.1.
    '--http2',
    'true',
    '--log-level',
    'info',
    // Policy admins besides cluster admins, so that policy changes can be approved by two of
    // them; the self-protection policy names the same.
    '--policy-admin-groups',
    POLICY_ADMIN_GROUPS.join(','),
    // Its attestation keys' namespace (the harness creates it; the helm test installs into bulwark-system).
    '--namespace',
    BULWARK_NAMESPACE,
    // Drift audit scans often enough for tests to see drift within seconds.
    '--audit-interval',
    '3',
    // Small pages, so that every audit test runs over a listing of several pages (audit-paging.test.ts).
    '--audit-page-size',
    '5',
  ];
}

export interface WebhookOptions {
  dir: string;
  port: number;
  tls: ServingFiles;
  kubeconfig: string;
  command?: string[];
  /** Added to the environment of the webhook process. */
  env?: Record<string, string>;
  detached?: boolean;
  onStart?: (process: ManagedProcess) => void;
  deadlineMs?: number;
}

export interface Webhook {
  process: ManagedProcess;
  url: string;
}

export async function startWebhook(options: WebhookOptions): Promise<Webhook> {
  const values: Record<string, string> = {
    host: '127.0.0.1',
    port: String(options.port),
    cert: options.tls.certFile,
    key: options.tls.keyFile,
    ca: options.tls.caFile,
    kubeconfig: options.kubeconfig,
    dir: options.dir,
  };
  const [command, ...args] = (options.command ?? defaultWebhookCommand()).map((arg) =>
    arg.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole),
  );
  if (!command) throw new Error('webhookCommand is empty');
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  for (const [key, value] of Object.entries(values)) env[`BULWARK_E2E_WEBHOOK_${key.toUpperCase()}`] = value;
  const proc = startProcess({
    name: 'bulwark',
    command,
    args,
    cwd: REPO_ROOT,
    env,
    logFile: join(options.dir, 'bulwark.log'),
    detached: options.detached ?? false,
    ...(options.onStart ? { onStart: options.onStart } : {}),
  });
  const base = `https://127.0.0.1:${options.port}`;
  try {
    await waitReady(`${base}/readyz`, {
      process: proc,
      ca: options.tls.caPem,
      // Generous: on a loaded shared machine (load 20+ on 2 cores) start-up alone has taken over 30 s.
      deadlineMs: options.deadlineMs ?? 90_000,
      intervalMs: 100,
    });
  } catch (err) {
    await proc.stop(1000);
    throw err;
  }
  return { process: proc, url: `${base}/validate` };
}
