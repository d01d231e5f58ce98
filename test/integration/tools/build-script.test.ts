// test/e2e/tools/build.sh as `npm test` meets it: groups name the tools a use needs, and
// a tool that cannot be built stops the run with its name (the reason is in the lines
// above it). Nothing here builds anything: the failing build has no module proxy.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../harness/paths.ts';

const SCRIPT = join(REPO_ROOT, 'test', 'e2e', 'tools', 'build.sh');
const scratch = mkdtempSync(join(tmpdir(), 'bulwark-build-sh-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function buildSh(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', [SCRIPT, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('build.sh', () => {
  it("expands the node group to what the full cluster's node runs", async () => {
    const r = await buildSh(['--print', '--only', 'node']);
    expect(r.code, r.stderr).toBe(0);
    const names = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('=')[0]);
    expect(names).toEqual([
      'kube-controller-manager',
      'kube-scheduler',
      'kubelet',
      'kube-proxy',
      'containerd',
      'containerd-shim-runc-v2',
      'ctr',
      'crictl',
      'cni-plugins',
      'node-images',
      'runc',
      'iptables',
      'conntrack',
    ]);
  });

  it('refuses an unknown tool, naming it', async () => {
    const r = await buildSh(['--only', 'kubelet,no-such-tool']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown tool in --only: no-such-tool');
  });

  it('names the tool that could not be built, after the reason', async () => {
    const r = await buildSh(['--only', 'crictl'], {
      BULWARK_TOOLS_CACHE: join(scratch, 'cache'),
      GOMODCACHE: join(scratch, 'mod'),
      GOPROXY: 'off',
      BULWARK_TOOLS_RETRY_DELAY: '0',
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/GOPROXY=off/);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      /^\[tools\] error: crictl could not be built \(exit 1\); the lines above say why$/,
    );
  });
});
