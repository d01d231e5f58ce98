// The kubectl plugin as users run it (`kubectl bulwark ...` through its entry point, with
// a user's context), and polling until the apiserver has caught up with a change.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import { e2eCluster, type UserName } from '../../../harness/context.ts';
import { nodeBinary, REPO_ROOT } from '../../../harness/paths.ts';

export interface PluginResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `kubectl bulwark ...` as `user`, through the plugin entry point. */
export function plugin(args: string[], user: UserName, input?: string): Promise<PluginResult> {
  return new Promise((resolve) => {
    const child = spawn(
      nodeBinary(),
      [
        join(REPO_ROOT, 'bin', 'kubectl-bulwark.js'),
        ...args,
        '--kubeconfig',
        e2eCluster().kubeconfig,
        '--context',
        user,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

export async function pluginOk(args: string[], user: UserName): Promise<string> {
  const r = await plugin(args, user);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

/** `kubectl bulwark unlock request ...` as `user`; returns the UnlockRequest's name. */
export async function requestUnlock(args: string[], user: UserName): Promise<string> {
  const out = await pluginOk(['unlock', 'request', ...args], user);
  return /unlockrequest\/(\S+) created/.exec(out)![1]!;
}

/** Polls `check` every 100 ms until it holds (webhook configurations and informers act a moment later). */
export async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
