// Bulwark's image, as the Dockerfile built it for the cluster: `docker run IMAGE --help`
// works, it runs as 65532:65532 and serves on a read-only root filesystem, and it holds
// no dev dependency and no npm. The image stays in the engine that built it; a private
// engine is started again here when none runs.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../harness/paths.ts';
import { get } from '../../harness/poll.ts';
import { freePort } from '../../harness/ports.ts';
import { dockerEngine, type DockerEngine } from '../../harness/node/docker.ts';
import { fullCluster } from './context.ts';

let engine: DockerEngine;
const image = () => fullCluster().image.reference;
const docker = async (args: string[]) => {
  try {
    const { stdout, stderr } = await engine.docker(args, { timeoutMs: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
};

beforeAll(async () => {
  engine = await dockerEngine({ dockerdPath: fullCluster().dockerdPath, logDir: fullCluster().dir });
});
afterAll(async () => {
  await engine?.stop();
});

describe('the image built from the Dockerfile', () => {
  it('answers `docker run IMAGE --help`', async () => {
    const r = await docker(['run', '--rm', '--network', 'none', image(), '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/serve/);
    expect(r.stdout).toMatch(/review/);
  });

  it('runs as 65532:65532 and serves on a read-only root filesystem', async () => {
    const user = await docker(['image', 'inspect', '--format', '{{.Config.User}}', image()]);
    expect(user.stdout.trim()).toBe('65532:65532');
    const port = await freePort();
    const name = `bulwark-readonly-${port}`;
    // As the chart runs it: read-only, no capabilities, a writable /tmp (the chart's emptyDir).
    const run = await docker([
      'run',
      '-d',
      '--name',
      name,
      '--network',
      'host',
      '--read-only',
      '--tmpfs',
      '/tmp',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
      image(),
      'serve',
      '--cluster',
      'none',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
    ]);
    expect(run.code, run.stderr).toBe(0);
    try {
      let status = 0;
      // Generous: on a loaded machine Node's start and the first certificate generation take seconds.
      for (const deadline = Date.now() + 60_000; status !== 200 && Date.now() < deadline; ) {
        status = (await get(`https://127.0.0.1:${port}/healthz`, { insecure: true }).catch(() => ({ status: 0 })))
          .status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      const logs = await docker(['logs', name]);
      expect(status, `${logs.stdout}${logs.stderr}`).toBe(200);
    } finally {
      await docker(['rm', '--force', name]);
    }
  });

  it('holds exactly the production dependency tree of the lockfile, and no npm', async () => {
    // The lockfile marks what only development needs (dev: true), transitively.
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; optional?: boolean }>;
    };
    const installed = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));
    const dev = installed.filter(([, p]) => p.dev).map(([path]) => path);
    const prod = installed.filter(([, p]) => !p.dev && !p.optional).map(([path]) => path);
    expect(dev).toContain('node_modules/typescript');
    const probe = `const fs = require('node:fs');
      const dev = ${JSON.stringify(dev)}.filter((d) => fs.existsSync('/app/' + d));
      const prod = ${JSON.stringify(prod)}.filter((d) => !fs.existsSync('/app/' + d));
      const npm = ['/usr/local/bin/npm', '/usr/local/lib/node_modules/npm'].filter((p) => fs.existsSync(p));
      console.log(JSON.stringify({ devPresent: dev, prodMissing: prod, npm, node: process.version }));`;
    const r = await docker(['run', '--rm', '--network', 'none', '--entrypoint', 'node', image(), '-e', probe]);
    expect(r.code, r.stderr).toBe(0);
    const found = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(found).toEqual({ devPresent: [], prodMissing: [], npm: [], node: expect.stringMatching(/^v24\./) });
    process.stderr.write(`[e2e-full] image ${image()}: ${(fullCluster().image.sizeBytes / 1e6).toFixed(0)} MB\n`);
  });
});
