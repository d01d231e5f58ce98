// `bulwark` and `kubectl bulwark` in-process, as their bin entries call them: exit codes,
// what goes to stdout and stderr. (test/integration/cli runs them as processes; the
// commands that talk to a cluster are in test/e2e.)

import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.ts';
import { plugin } from '../../../src/cli/plugin/main.ts';
import { FIXTURES_DIR, REVIEWS_DIR } from '../../helpers/fixtures.ts';
import { run } from '../../helpers/run-cli.ts';

afterEach(() => vi.restoreAllMocks());

describe('bulwark review', () => {
  it('prints the response and exits 1 when denied, 0 when allowed', async () => {
    const denied = await run(main, ['review', join(REVIEWS_DIR, 'configmap-apply-changed.json')]);
    expect(denied.code).toBe(1);
    expect(JSON.parse(denied.stdout).response.status.message).toContain('data.color (changed)');
    expect((await run(main, ['review', join(REVIEWS_DIR, 'configmap-apply-identical.json')])).code).toBe(0);
  });

  it('applies --policies and --label-key', async () => {
    const warned = await run(main, [
      'review',
      '--policies',
      join(FIXTURES_DIR, 'policies', 'warn'),
      join(REVIEWS_DIR, 'deployment-image-changed.json'),
    ]);
    expect(warned.code).toBe(0);
    expect(JSON.parse(warned.stdout).response.warnings[0]).toContain('spec.template.spec.containers[0].image');
    expect(
      (
        await run(main, [
          'review',
          '--label-key',
          'example.com/frozen',
          join(REVIEWS_DIR, 'configmap-apply-changed.json'),
        ])
      ).code,
    ).toBe(0);
  });

  it('exits 2 with the reason for input it cannot use', async () => {
    const missing = await run(main, ['review', '/does/not/exist.json']);
    expect([missing.code, missing.stderr]).toEqual([
      2,
      expect.stringContaining('bulwark review: cannot read /does/not/exist.json'),
    ]);
    const file = join(await mkdtemp(join(tmpdir(), 'bulwark-cli-')), 'bad.json');
    await writeFile(file, '{"kind":"AdmissionReview"}');
    const malformed = await run(main, ['review', file]);
    expect([malformed.code, malformed.stderr]).toEqual([
      2,
      expect.stringMatching(/bulwark review: not an admission\.k8s\.io\/v1 AdmissionReview: apiVersion/),
    ]);
    const invalid = await run(main, ['review', '--policies', join(FIXTURES_DIR, 'policies', 'invalid'), file]);
    expect([invalid.code, invalid.stderr]).toEqual([2, expect.stringContaining('spec.enforcement')]);
  });

  it('--help exits 0; an unknown command or option exits 2', async () => {
    expect((await run(main, ['--help'])).code).toBe(0);
    expect((await run(main, ['review', '--help'])).stdout).toContain('Usage: bulwark review');
    expect((await run(main, ['frobnicate'])).code).toBe(2);
    expect((await run(main, ['review', '--no-such-option', 'x'])).code).toBe(2);
  });
});

describe('kubectl bulwark', () => {
  async function kubeconfig(text: string): Promise<string> {
    const file = join(await mkdtemp(join(tmpdir(), 'bulwark-kubeconfig-')), 'config');
    await writeFile(file, text);
    return file;
  }
  /** A cluster nobody answers at: commands that fail before their first API call show it. */
  const unreachable = () =>
    kubeconfig(
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: c',
        'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:9" } }]',
        'users: [{ name: u, user: { token: t } }]',
        'contexts: [{ name: c, context: { cluster: c, user: u } }]',
      ].join('\n'),
    );

  it('needs a cluster in the kubeconfig, and says so with exit 1', async () => {
    const empty = await kubeconfig('apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
    const r = await run(plugin, ['status', '--kubeconfig', empty]);
    expect([r.code, r.stderr]).toEqual([1, 'error: no cluster in the kubeconfig (use --kubeconfig or $KUBECONFIG)\n']);
  });

  it('refuses an operation an UnlockRequest cannot name, before asking the cluster', async () => {
    const r = await run(plugin, [
      'unlock',
      'request',
      'cm/app',
      '--reason',
      'r',
      '--operation',
      'PATCH',
      '--kubeconfig',
      await unreachable(),
    ]);
    expect([r.code, r.stderr]).toEqual([1, 'error: --operation "PATCH" is not one of UPDATE, DELETE, Unlabel\n']);
  });

  it('refuses a lock label that is not one, before asking the cluster', async () => {
    const r = await run(plugin, ['lock', 'cm/app', '--label-key', 'a b', '--kubeconfig', await unreachable()]);
    expect([r.code, r.stderr]).toEqual([1, 'error: --label-key "a b" is not a label key\n']);
  });

  it('exits 2 on a usage error', async () => {
    expect((await run(plugin, ['lock'])).code).toBe(2);
    expect((await run(plugin, ['--help'])).stdout).toContain('Usage: kubectl bulwark');
  });
});

describe('bulwark review of manifests', () => {
  const write = async (dir: string, name: string, text: string) => {
    await writeFile(join(dir, name), text);
    return join(dir, name);
  };
  const configMap = (color: string) =>
    'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c, namespace: shop, ' +
    `labels: { bulwark.dev/immutable: "true" } }\ndata: { color: ${color} }\n`;

  it('decides an old/new pair with namespace labels, as namespaceSelector policies would in a cluster', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-review-'));
    const policies = join(dir, 'policies');
    await mkdir(policies);
    await write(
      policies,
      'warn.yaml',
      'apiVersion: bulwark.dev/v1alpha1\nkind: ImmutabilityPolicy\nmetadata: { name: staging-warns }\n' +
        'spec:\n  match:\n    namespaceSelector: { matchLabels: { env: staging } }\n  enforcement: Warn\n',
    );
    const args = ['review', '--policies', policies, '--old', await write(dir, 'old.yaml', configMap('blue'))];
    args.push('--new', await write(dir, 'new.yaml', configMap('red')));
    const staging = await run(main, [...args, '--namespace-labels', 'env=staging']);
    expect(staging.code).toBe(0);
    expect(JSON.parse(staging.stdout).response.warnings[0]).toContain('data.color (changed)');
    const prod = await run(main, [...args, '--namespace-labels', 'env=prod']);
    expect(prod.code).toBe(1);
    expect(JSON.parse(prod.stdout).response.status.message).toContain('ConfigMap shop/c is locked');
    expect((await run(main, [...args, '--namespace-labels', 'oops'])).code).toBe(2);
  });

  it('decides scale and eviction offline when the parent is supplied', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-review-'));
    const deployment = await write(
      dir,
      'web.yaml',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web, namespace: shop, ' +
        'labels: { bulwark.dev/immutable: "true" } }\nspec: { replicas: 2 }\n',
    );
    const scale = await run(main, ['review', '--parent', deployment, '--subresource', 'scale', '--replicas', '5']);
    expect(scale.code).toBe(1);
    expect(JSON.parse(scale.stdout).response.status.message).toContain('this scale update would change spec.replicas');
    const same = await run(main, ['review', '--parent', deployment, '--subresource', 'scale', '--replicas', '2']);
    expect(same.code).toBe(0);
    const pod = await write(
      dir,
      'pod.yaml',
      'apiVersion: v1\nkind: Pod\nmetadata: { name: p, namespace: shop, labels: { bulwark.dev/immutable: "true" } }\n',
    );
    const evicted = await run(main, ['review', '--parent', pod, '--subresource', 'eviction']);
    expect(evicted.code).toBe(1);
    expect(JSON.parse(evicted.stdout).response.status.message).toContain('Pod shop/p is locked');
    expect((await run(main, ['review'])).code).toBe(2);
  });
});
