// Configuration: defaults < file < environment and flags, validated once, every bad
// field named with its path; unreadable files are errors with a code, never a crash.

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toOverrides } from '../../../src/cli/options.ts';
import { defaultPolicyOf } from '../../../src/config/default-policy.ts';
import { loadConfig, mergeConfig } from '../../../src/config/load.ts';
import { DEFAULT_CONFIG } from '../../../src/config/schema.ts';
import { BaseError } from '../../../src/errors.ts';

async function configFile(text: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'bulwark-config-')), 'config.yaml');
  await writeFile(file, text);
  return file;
}

describe('loadConfig', () => {
  it('is the defaults when nothing is given', async () => {
    expect(await loadConfig({})).toEqual(DEFAULT_CONFIG);
  });

  it('takes the file over the defaults, and flags over the file', async () => {
    const file = await configFile(
      'port: 9443\nlockLabel: { key: example.com/frozen }\ndefaultUnlock: { approverGroups: [leads], ' +
        'maxDuration: 2h }\n',
    );
    const config = await loadConfig({
      file,
      overrides: toOverrides({ port: 10443, labelValue: 'yes', cert: '/tls/tls.crt', key: '/tls/tls.key' }),
    });
    expect(config).toMatchObject({
      port: 10443,
      lockLabel: { key: 'example.com/frozen', value: 'yes' },
      defaultUnlock: { approverGroups: ['leads'], approvalsRequired: 2, maxDuration: '2h' },
      tls: { certFile: '/tls/tls.crt', keyFile: '/tls/tls.key', reloadIntervalSeconds: 10 },
    });
    expect(defaultPolicyOf(config).unlock).toEqual({
      approvalsRequired: 2,
      approverGroups: new Set(['leads']),
      maxDurationMs: 7_200_000,
    });
  });

  it('names every bad field with its path', async () => {
    const file = await configFile(
      'port: 70000\nlockLabel: { key: "not a key!", value: x }\ncluster: sometimes\nunknown: 1\n',
    );
    const error = (await loadConfig({ file }).catch((e: unknown) => e)) as BaseError;
    expect(error).toBeInstanceOf(BaseError);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['port', 'lockLabel.key', 'cluster', '(root)']),
    );
  });

  it('needs a key with a certificate, and a certificate with a key', async () => {
    await expect(loadConfig({ overrides: toOverrides({ cert: '/tls/tls.crt' }) })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('keyFile'),
    });
  });

  it('refuses a file that cannot be read or is not YAML, saying which', async () => {
    await expect(loadConfig({ file: '/does/not/exist.yaml' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('cannot read config file /does/not/exist.yaml'),
    });
    await expect(loadConfig({ file: await configFile('port: [1, 2\n') })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('is not valid YAML'),
    });
  });

  it('an empty file is no configuration', async () => {
    expect(await loadConfig({ file: await configFile('') })).toEqual(DEFAULT_CONFIG);
  });
});

describe('mergeConfig', () => {
  it('merges objects deeply; undefined leaves the base, arrays and scalars replace it', () => {
    expect(mergeConfig({ a: { b: 1, c: [1, 2] }, d: 'x' }, { a: { b: undefined, c: [3] }, d: 'y' })).toEqual({
      a: { b: 1, c: [3] },
      d: 'y',
    });
    expect(mergeConfig({ a: 1 }, undefined)).toEqual({ a: 1 });
  });
});
