// Cluster credentials read without client-node: what a kubeconfig's current context puts
// on a request, relative paths, a rotated token file, and the hand-over to client-node for
// anything else (exec plugins and the like), so that no kubeconfig loses what it had.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { connectionFromFile, readSimpleKubeConfig, simpleConnection } from '../../../src/cluster/kube-config.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const made: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  const dir = tempDir('bulwark-kubeconfig-');
  writeFileSync(join(dir, 'ca.crt'), 'CA FROM FILE');
  writeFileSync(join(dir, 'token'), 'token-from-file\n');
  const file = join(dir, 'config');
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'admin',
      contexts: [
        { name: 'other', context: { cluster: 'other', user: 'other' } },
        { name: 'admin', context: { cluster: 'local', user: 'admin' } },
      ],
      clusters: [
        { name: 'other', cluster: { server: 'https://other:1' } },
        { name: 'local', cluster: { server: 'https://127.0.0.1:6443', ...cluster } },
      ],
      users: [
        { name: 'other', user: { token: 'other-token' } },
        { name: 'admin', user },
      ],
    }),
  );
  return file;
}

async function applied(file: string): Promise<RequestOptions> {
  const options: RequestOptions = { headers: { accept: 'application/json' } };
  await (await connectionFromFile(file)).applyToHTTPSOptions(options);
  return options;
}

afterEach(() => vi.useRealTimers());

describe('kubeconfig files read without client-node', () => {
  it("takes the current context's cluster and user: CA data, client certificate, token", async () => {
    const file = kubeconfig(
      { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY'), token: 'tok' },
      { 'certificate-authority-data': b64('CA'), 'tls-server-name': 'kubernetes' },
    );
    const connection = readSimpleKubeConfig(file)!;
    expect(connection.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
    const options = await applied(file);
    expect(String(options.ca)).toBe('CA');
    expect(String(options.cert)).toBe('CERT');
    expect(String(options.key)).toBe('KEY');
    expect(options.servername).toBe('kubernetes');
    expect(options.headers).toEqual({ accept: 'application/json', authorization: 'Bearer tok' });
    expect(options.rejectUnauthorized).toBeUndefined();
  });

  it('reads a context with informational extensions itself (minikube writes them)', () => {
    const extensions = [{ name: 'cluster_info', extension: { provider: 'minikube.sigs.k8s.io' } }];
    const file = kubeconfig({ token: 't', extensions }, { extensions, 'disable-compression': true });
    expect(readSimpleKubeConfig(file)?.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
  });

  it("reads files relative to the kubeconfig's folder, and honours insecure-skip-tls-verify", async () => {
    const options = await applied(
      kubeconfig({ tokenFile: 'token' }, { 'certificate-authority': 'ca.crt', 'insecure-skip-tls-verify': true }),
    );
    expect(String(options.ca)).toBe('CA FROM FILE');
    expect(options.rejectUnauthorized).toBe(false);
    expect(options.headers).toMatchObject({ authorization: 'Bearer token-from-file' });
  });

  it('reads a token file again after a minute (the kubelet rotates projected tokens)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const dir = tempDir('bulwark-token-');
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'first');
    const connection = simpleConnection({ name: 'c', server: 'https://x' }, { name: 'u', tokenFile });
    const header = async () => {
      const options: RequestOptions = {};
      await connection.applyToHTTPSOptions(options);
      return (options.headers as Record<string, string>).authorization;
    };
    expect(await header()).toBe('Bearer first');
    writeFileSync(tokenFile, 'second');
    expect(await header()).toBe('Bearer first');
    vi.setSystemTime(Date.now() + 61_000);
    expect(await header()).toBe('Bearer second');
  });

  it('leaves exec plugins, auth providers, basic auth, impersonation and proxies to client-node', async () => {
    for (const [user, cluster] of [
      [{ exec: { command: 'aws', apiVersion: 'client.authentication.k8s.io/v1' } }, {}],
      [{ 'auth-provider': { name: 'oidc' } }, {}],
      [{ username: 'u', password: 'p' }, {}],
      [{ token: 't', as: 'someone' }, {}],
      [{ token: 't' }, { 'proxy-url': 'http://proxy:3128' }],
    ] as const) {
      const file = kubeconfig(user, cluster);
      expect(readSimpleKubeConfig(file)).toBeUndefined();
    }
    // client-node then reads it, with what it supports (here: basic auth).
    const options = await applied(kubeconfig({ username: 'u', password: 'p' }));
    expect(options.auth).toBe('u:p');
  });

  it('refuses a file that is not YAML with a clear error', async () => {
    const dir = tempDir('bulwark-kubeconfig-');
    writeFileSync(join(dir, 'config'), 'clusters: [unclosed');
    expect(() => readSimpleKubeConfig(join(dir, 'config'))).toThrow(/cannot read the kubeconfig/);
  });
});
