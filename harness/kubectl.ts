// Running kubectl against a cluster. Never throws on a non-zero exit: tests assert on
// the exit code and on stderr (that is where an admission denial is printed).

import { spawn } from 'node:child_process';
import type { UserName } from './users.ts';

export interface KubectlOptions {
  /** Act as this user (its kubeconfig context); default admin. */
  user?: UserName;
  /** Written to stdin, for `apply -f -`. */
  input?: string;
  namespace?: string;
  /** Kill kubectl after this long (default 60 s); the result then has code 124. */
  timeoutMs?: number;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type Kubectl = (args: string[], options?: KubectlOptions) => Promise<KubectlResult>;

export interface KubectlTarget {
  kubectlPath: string;
  kubeconfig: string;
  /** kubectl's discovery cache; kept per cluster so that stale API lists never leak in. */
  cacheDir?: string;
}

export function kubectlRunner(target: KubectlTarget): Kubectl {
  return (args, options = {}) => {
    const full = [
      `--kubeconfig=${target.kubeconfig}`,
      ...(target.cacheDir ? [`--cache-dir=${target.cacheDir}`] : []),
      ...(options.user ? [`--context=${options.user}`] : []),
      ...(options.namespace ? [`--namespace=${options.namespace}`] : []),
      ...args,
    ];
    return new Promise((resolve) => {
      const child = spawn(target.kubectlPath, full, { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, options.timeoutMs ?? 60_000);
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.stdin.on('error', () => {
        /* kubectl exited before reading stdin; its exit code tells */
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        resolve({ code: 127, stdout: '', stderr: `could not run ${target.kubectlPath}: ${e.message}` });
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        const stderr =
          Buffer.concat(err).toString('utf8') +
          (timedOut ? `\n(kubectl killed after ${options.timeoutMs ?? 60_000} ms)` : '');
        resolve({ code: timedOut ? 124 : (code ?? 1), stdout: Buffer.concat(out).toString('utf8'), stderr });
      });
      child.stdin.end(options.input ?? '');
    });
  };
}

/** Throws with kubectl's stderr unless it succeeded; for setup steps, not for assertions. */
export async function kubectlOk(kubectl: Kubectl, args: string[], options?: KubectlOptions): Promise<string> {
  const result = await kubectl(args, options);
  if (result.code !== 0)
    throw new Error(`kubectl ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}
