// Takes the node down and leaves the machine as it was: no process, container, mount,
// network interface, iptables rule or cgroup of the cluster survives, and the kernel
// settings the kubelet changed are written back. Runs from the owner's stop(), from
// `cluster down` and from the reaper of crashed runs, so it works from state.json
// alone and never throws: it returns what it could not undo.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isAlive, isSameProcess, terminatePid } from '../pids.ts';
import type { ProcessRecord } from '../processes.ts';
import { releaseMachine, SYSTEM_PATH } from './host.ts';
import { removeKubeletChains } from './iptables.ts';
import { restoreSysctls, type SysctlSnapshot } from './sysctls.ts';

const run = promisify(execFile);

/** What teardown needs to know, recorded in state.json before the node starts. */
export interface NodeState {
  containerdSocket: string;
  crictlPath: string;
  kubeProxyPath: string;
  bridge: string;
  cgroupRoot: string;
  podLogsDir: string;
  sysctls: SysctlSnapshot;
}

async function attempt(problems: string[], what: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    problems.push(`${what}: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' ')}`);
  }
}

async function stopNamed(processes: readonly ProcessRecord[], name: string): Promise<void> {
  for (const p of processes.filter((r) => r.name === name)) {
    if (isSameProcess(p.pid, p.startTime)) await terminatePid(p.pid, { group: p.detached, graceMs: 10_000 });
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** Every process in a cgroup below the node's cgroup root, in any hierarchy. */
function cgroupDirs(cgroupRoot: string): string[] {
  const dirs: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    dirs.push(dir);
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(join(dir, entry.name));
  };
  const top = '/sys/fs/cgroup';
  if (existsSync(join(top, 'cgroup.controllers'))) walk(join(top, cgroupRoot));
  else for (const hierarchy of readdirSync(top)) walk(join(top, hierarchy, cgroupRoot));
  return dirs;
}

function pidsIn(dirs: readonly string[]): number[] {
  const pids = new Set<number>();
  for (const dir of dirs) {
    try {
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.add(Number(line));
    } catch {
      // gone
    }
  }
  return [...pids];
}

/** The shims of this cluster's containerd (they outlive it by design). */
function shimPids(socket: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      const args = cmdline(pid);
      return (args[0] ?? '').endsWith('containerd-shim-runc-v2') && args.includes(socket);
    });
}

/** Mount points at or below `dir`, deepest first. */
export function mountsBelow(dir: string): string[] {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const points = lines
    .map((l) => l.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((p): p is string => !!p && (p === dir || p.startsWith(`${dir}/`)));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

export async function teardownNode(
  dir: string,
  processes: readonly ProcessRecord[],
  node: NodeState,
): Promise<string[]> {
  const problems: string[] = [];
  // The kubelet first, or it restarts what is being removed.
  await stopNamed(processes, 'kubelet');
  const containerd = processes.find((p) => p.name === 'containerd');
  if (containerd && isSameProcess(containerd.pid, containerd.startTime) && existsSync(node.containerdSocket)) {
    // Stops every container and tears each pod's network down through CNI.
    await attempt(problems, 'crictl rmp', () =>
      run(
        node.crictlPath,
        ['--runtime-endpoint', `unix://${node.containerdSocket}`, '--timeout', '30s', 'rmp', '--all', '--force'],
        { timeout: 90_000 },
      ),
    );
  }
  await stopNamed(processes, 'kube-proxy');
  await stopNamed(processes, 'containerd');

  for (const pid of [...shimPids(node.containerdSocket), ...pidsIn(cgroupDirs(node.cgroupRoot))]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (let i = 0; i < 40 && pidsIn(cgroupDirs(node.cgroupRoot)).some(isAlive); i++)
    await new Promise((r) => setTimeout(r, 50));

  for (const point of mountsBelow(dir))
    await attempt(problems, `umount ${point}`, () => run('umount', ['--lazy', point]));
  if (existsSync(`/sys/class/net/${node.bridge}`))
    await attempt(problems, `ip link del ${node.bridge}`, () => run('ip', ['link', 'del', node.bridge]));
  await attempt(problems, 'kube-proxy --cleanup', () =>
    run(node.kubeProxyPath, ['--cleanup'], { timeout: 60_000, env: { ...process.env, PATH: SYSTEM_PATH } }),
  );
  problems.push(...(await removeKubeletChains()));

  for (const cgroup of cgroupDirs(node.cgroupRoot).reverse()) {
    try {
      rmdirSync(cgroup);
    } catch (err) {
      problems.push(`rmdir ${cgroup}: ${(err as Error).message}`);
    }
  }
  // The kubelet links every container log into the fixed /var/log/containers.
  try {
    for (const entry of readdirSync('/var/log/containers')) {
      const link = join('/var/log/containers', entry);
      try {
        if (readlinkSync(link).startsWith(node.podLogsDir)) rmSync(link, { force: true });
      } catch {
        // not a link
      }
    }
  } catch {
    // no such directory
  }
  // The shims' socket directory is fixed (/run/containerd/s); remove it only when empty,
  // as another containerd may use it.
  for (const fixed of ['/run/containerd/s', '/run/containerd']) {
    try {
      rmdirSync(fixed);
    } catch {
      // in use, or not there
    }
  }
  for (const key of restoreSysctls(node.sysctls)) problems.push(`could not restore sysctl ${key}`);
  releaseMachine(dir);
  return [...problems, ...(await nodeLeftovers(dir, node))];
}

/** What of the node is still on the machine: empty after a clean teardown. */
export async function nodeLeftovers(dir: string, node: NodeState): Promise<string[]> {
  const left: string[] = [];
  const processes = [...shimPids(node.containerdSocket), ...pidsIn(cgroupDirs(node.cgroupRoot))].filter(isAlive);
  if (processes.length > 0) left.push(`processes ${processes.join(', ')}`);
  const cgroups = cgroupDirs(node.cgroupRoot);
  if (cgroups.length > 0) left.push(`cgroups ${cgroups.slice(0, 3).join(', ')}${cgroups.length > 3 ? ', …' : ''}`);
  const mounts = mountsBelow(dir);
  if (mounts.length > 0) left.push(`mounts ${mounts.slice(0, 3).join(', ')}${mounts.length > 3 ? ', …' : ''}`);
  if (existsSync(`/sys/class/net/${node.bridge}`)) left.push(`network interface ${node.bridge}`);
  for (const command of ['iptables-save', 'ip6tables-save']) {
    try {
      const chains = (await run(command, [], { env: { ...process.env, PATH: SYSTEM_PATH }, timeout: 30_000 })).stdout
        .split('\n')
        .filter((l) => /^:(KUBE|CNI)-/.test(l))
        .map((l) => l.slice(1).split(' ')[0]);
      if (chains.length > 0) left.push(`${command.replace('-save', '')} chains ${[...new Set(chains)].join(', ')}`);
    } catch {
      // no iptables here: nothing of ours either
    }
  }
  return left;
}
