// Starting the cluster's processes with their output in log files (never pipes: a pipe
// nobody drains eventually blocks the child). Attached children are guarded so that
// they die with this process; detached ones lead their own process group and outlive
// it once released (`npm run cluster -- up`).

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { guardChild, unguardChild } from './exit-guard.ts';
import { startTime, terminatePid } from './pids.ts';

export interface ProcessRecord {
  name: string;
  pid: number;
  logFile: string;
  /** Leads its own process group; stopped by signalling the group. */
  detached: boolean;
  /** From /proc: tells this process from a later one that reuses the pid. */
  startTime?: string | undefined;
}

export interface ManagedProcess extends ProcessRecord {
  /** Resolves once the process has exited, with a description such as "exit code 1". */
  readonly exited: Promise<string>;
  /** The description of how it ended, or undefined while it runs. */
  exitStatus(): string | undefined;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5 s). */
  stop(graceMs?: number): Promise<void>;
  /** Stop guarding it: it keeps running after this process exits. */
  release(): void;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  detached?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called as soon as the process exists, before anyone waits for it to be ready. */
  onStart?: (process: ManagedProcess) => void;
}

export function startProcess(options: StartOptions): ManagedProcess {
  const detached = options.detached ?? false;
  const fd = openSync(options.logFile, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', fd, fd],
      detached,
    });
  } finally {
    closeSync(fd); // the child holds its own copy
  }
  let status: string | undefined;
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => {
      status = `failed to start: ${err.message}`;
      resolve(status);
    });
    child.once('exit', (code, sig) => {
      status = sig ? `killed by ${sig}` : `exit code ${code}`;
      resolve(status);
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name}: could not start ${options.command}`);
  guardChild(pid, detached);
  void exited.then(() => unguardChild(pid));
  if (detached) child.unref();

  const managed: ManagedProcess = {
    name: options.name,
    pid,
    logFile: options.logFile,
    detached,
    startTime: startTime(pid),
    exited,
    exitStatus: () => status,
    async stop(graceMs = 5000) {
      if (status === undefined) await terminatePid(pid, { group: detached, graceMs });
      unguardChild(pid);
    },
    release() {
      unguardChild(pid);
    },
  };
  options.onStart?.(managed);
  return managed;
}

/**
 * The order to stop a cluster's processes in: last started first. Bulwark goes before
 * the apiserver because it holds watches (policy informers) that an apiserver on its
 * way out waits for; the apiserver then fails to clear the default/kubernetes
 * Endpoints through the missing webhook, which only costs a line in its log.
 */
export function stopOrder<T>(processes: readonly T[]): T[] {
  return [...processes].reverse();
}

/** The last lines of a log file, for error messages. */
export function logTail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
