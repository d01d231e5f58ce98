// A Docker engine to build Bulwark's image with. A running one (DOCKER_HOST or the
// default socket) is used as it is. Otherwise a private dockerd is started for the
// build and stopped after it: its own socket, exec root and data root (kept in the
// tools cache, so layers are reused across runs), no bridge, no iptables rules, so it
// leaves nothing behind on the machine. Builds use the host network.

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { logTail, startProcess, type ManagedProcess } from '../processes.ts';
import { mountsBelow } from './teardown.ts';

const run = promisify(execFile);

export interface DockerEngine {
  /** DOCKER_HOST for the docker CLI. */
  host: string;
  /** True when this engine was started here (and stop() will end it). */
  private: boolean;
  docker(args: string[], options?: { timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

const PRIVATE_EXEC_ROOT = '/run/bulwark-dockerd';

function cacheRoot(): string {
  return process.env.BULWARK_TOOLS_CACHE ?? join(homedir(), '.cache', 'bulwark', 'tools');
}

function client(host: string): DockerEngine['docker'] {
  return (args, options = {}) =>
    run('docker', args, {
      env: { ...process.env, DOCKER_HOST: host, DOCKER_CLI_HINTS: 'false' },
      timeout: options.timeoutMs ?? 600_000,
      maxBuffer: 64 * 1024 * 1024,
    });
}

async function answers(host: string): Promise<boolean> {
  try {
    await client(host)(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 });
    return true;
  } catch {
    return false;
  }
}

export interface DockerOptions {
  dockerdPath: string;
  /** Where the private engine's log goes. */
  logDir: string;
  log?: (message: string) => void;
}

export async function dockerEngine(options: DockerOptions): Promise<DockerEngine> {
  const existing = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  if (await answers(existing)) {
    return { host: existing, private: false, docker: client(existing), stop: async () => {} };
  }
  const host = `unix://${PRIVATE_EXEC_ROOT}/docker.sock`;
  if (await answers(host))
    throw new Error(`a private dockerd of another run answers on ${host}; wait for it to finish`);
  const dataRoot = join(cacheRoot(), 'docker-data');
  mkdirSync(dataRoot, { recursive: true });
  options.log?.(`starting a private dockerd (data root ${dataRoot})`);
  const proc: ManagedProcess = startProcess({
    name: 'dockerd',
    command: options.dockerdPath,
    args: [
      `--host=${host}`,
      `--data-root=${dataRoot}`,
      `--exec-root=${join(PRIVATE_EXEC_ROOT, 'exec')}`,
      `--pidfile=${join(PRIVATE_EXEC_ROOT, 'dockerd.pid')}`,
      '--bridge=none',
      '--iptables=false',
      '--ip-masq=false',
      '--ip-forward=false',
    ],
    logFile: join(options.logDir, 'dockerd.log'),
  });
  const deadline = Date.now() + 60_000;
  while (!(await answers(host))) {
    if (proc.exitStatus() !== undefined || Date.now() > deadline) {
      await proc.stop(1000);
      throw new Error(
        `dockerd did not start (${proc.exitStatus() ?? 'no answer in 60 s'}); ${proc.logFile} ends ` +
          `with:\n${logTail(proc.logFile)}`,
      );
    }
    await sleep(250);
  }
  return {
    host,
    private: true,
    docker: client(host),
    async stop() {
      await proc.stop(20_000);
      // dockerd leaves its default network namespace mounted in the exec root.
      for (const point of mountsBelow(PRIVATE_EXEC_ROOT)) await run('umount', ['--lazy', point]).catch(() => {});
      if (existsSync(PRIVATE_EXEC_ROOT)) await run('rm', ['-rf', PRIVATE_EXEC_ROOT]).catch(() => {});
      // dockerd also makes the fixed /run/docker/plugins; remove it when empty (no other engine uses it).
      for (const fixed of ['/run/docker/plugins', '/run/docker']) await rmdir(fixed).catch(() => {});
    },
  };
}
