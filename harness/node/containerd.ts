// containerd 2.x for the node, with its own root, state and sockets under the
// cluster directory, so that it never meets Docker's containerd or a system one.
// Images come from tarballs (`ctr images import`): no registry is reachable here.

import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { logTail, startProcess, type ManagedProcess } from '../processes.ts';
import { SYSTEM_PATH } from './host.ts';

const run = promisify(execFile);

/** The CRI namespace: images the kubelet can run live here. */
export const K8S_NAMESPACE = 'k8s.io';

export interface ContainerdPaths {
  root: string;
  state: string;
  socket: string;
  config: string;
  cniConfDir: string;
  runcRoot: string;
  /** Per-registry hosts.toml files (config_path), read at each pull: see trustPlainHttpRegistry. */
  registryHostsDir: string;
}

export function containerdPaths(dir: string): ContainerdPaths {
  const base = join(dir, 'containerd');
  return {
    root: join(base, 'root'),
    state: join(base, 'state'),
    // A unix socket path must stay under 108 bytes: keep it short.
    socket: join(base, 'c.sock'),
    config: join(base, 'config.toml'),
    cniConfDir: join(dir, 'cni', 'net.d'),
    runcRoot: join(base, 'runc'),
    registryHostsDir: join(base, 'certs.d'),
  };
}

/**
 * Lets the node pull from a plain-HTTP registry at `host` (`ADDRESS:PORT`): containerd reads
 * `<registryHostsDir>/<host>/hosts.toml` at each pull, so a test's own registry needs no restart.
 */
export async function trustPlainHttpRegistry(dir: string, host: string): Promise<void> {
  const hostDir = join(containerdPaths(dir).registryHostsDir, host);
  await mkdir(hostDir, { recursive: true });
  await writeFile(
    join(hostDir, 'hosts.toml'),
    `server = "http://${host}"\n\n[host."http://${host}"]\n  capabilities = ["pull", "resolve"]\n`,
  );
}

export interface ContainerdOptions {
  dir: string;
  containerdPath: string;
  shimPath: string;
  runcPath: string;
  cniBinDir: string;
  sandboxImage: string;
  detached: boolean;
  onStart?: (process: ManagedProcess) => void;
}

const q = (value: string) => `'${value.replace(/'/g, '')}'`;

function configToml(paths: ContainerdPaths, options: ContainerdOptions): string {
  const opt = join(options.dir, 'containerd', 'opt');
  const runtime = "plugins.'io.containerd.cri.v1.runtime'";
  return `version = 4
root = ${q(paths.root)}
state = ${q(paths.state)}
# NRI would claim the machine-wide /var/run/nri/nri.sock; the others are unused snapshotters.
disabled_plugins = ['io.containerd.nri.v1.nri', 'io.containerd.snapshotter.v1.blockfile',
  'io.containerd.snapshotter.v1.devmapper', 'io.containerd.snapshotter.v1.erofs', 'io.containerd.snapshotter.v1.zfs',
  'io.containerd.differ.v1.erofs', 'io.containerd.mount-handler.v1.erofs']

[plugins.'io.containerd.server.v1.grpc']
  address = ${q(paths.socket)}
[plugins.'io.containerd.server.v1.ttrpc']
  address = ${q(`${paths.socket}.ttrpc`)}
[plugins.'io.containerd.internal.v1.opt']
  path = ${q(opt)}
[plugins.'io.containerd.image-verifier.v1.bindir']
  bin_dir = ${q(join(opt, 'image-verifier', 'bin'))}
[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = ${q(paths.registryHostsDir)}
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = ${q(options.sandboxImage)}
[${runtime}]
  # Pod network namespaces under the state directory, not the machine-wide /var/run/netns.
  netns_mounts_under_state_dir = true
  # This machine's root lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj (-998 for
  # sandboxes) and fails with "can't get final child's PID from pipe". Clamp to ours instead.
  restrict_oom_score_adj = true
  [${runtime}.containerd]
    default_runtime_name = 'runc'
    [${runtime}.containerd.runtimes.runc]
      runtime_type = 'io.containerd.runc.v2'
      [${runtime}.containerd.runtimes.runc.options]
        BinaryName = ${q(options.runcPath)}
        # runc's state, by default under the machine-wide /run/containerd/runc.
        Root = ${q(paths.runcRoot)}
        SystemdCgroup = false
  [${runtime}.cni]
    bin_dirs = [${q(options.cniBinDir)}]
    conf_dir = ${q(paths.cniConfDir)}
`;
}

export interface Containerd {
  process: ManagedProcess;
  paths: ContainerdPaths;
}

export async function startContainerd(options: ContainerdOptions): Promise<Containerd> {
  const paths = containerdPaths(options.dir);
  await Promise.all([paths.root, paths.state, paths.cniConfDir].map((d) => mkdir(d, { recursive: true, mode: 0o700 })));
  await writeFile(paths.config, configToml(paths, options), { mode: 0o600 });
  const proc = startProcess({
    name: 'containerd',
    command: options.containerdPath,
    args: ['--config', paths.config, '--log-level', 'warn'],
    // containerd finds its shim on PATH.
    env: { ...process.env, PATH: `${dirname(options.shimPath)}:${SYSTEM_PATH}` },
    logFile: join(options.dir, 'containerd.log'),
    detached: options.detached,
    ...(options.onStart ? { onStart: options.onStart } : {}),
  });
  return { process: proc, paths };
}

/** `ctr` against this containerd, in the CRI namespace. */
export function ctr(
  ctrPath: string,
  socket: string,
  args: string[],
  timeoutMs = 120_000,
): Promise<{ stdout: string; stderr: string }> {
  return run(ctrPath, ['--address', socket, '--namespace', K8S_NAMESPACE, ...args], {
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
}

/** Waits until containerd answers on its socket. */
export async function waitContainerd(containerd: Containerd, ctrPath: string, deadlineMs = 30_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let last = '';
  while (Date.now() < deadline) {
    const status = containerd.process.exitStatus();
    if (status !== undefined)
      throw new Error(
        `containerd ended (${status}); ${containerd.process.logFile} ends ` +
          `with:\n${logTail(containerd.process.logFile)}`,
      );
    try {
      await ctr(ctrPath, containerd.paths.socket, ['version'], 5000);
      return;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(200);
  }
  throw new Error(
    `containerd did not answer within ${deadlineMs / 1000} s (${last}); ${containerd.process.logFile} ends ` +
      `with:\n${logTail(containerd.process.logFile)}`,
  );
}

/** Imports image tarballs (docker save / oci-image layout) into the CRI namespace. */
export async function importImages(ctrPath: string, socket: string, tarballs: readonly string[]): Promise<void> {
  for (const tarball of tarballs) {
    try {
      await ctr(ctrPath, socket, ['images', 'import', tarball]);
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`ctr images import ${tarball} failed: ${(e.stderr ?? e.message).trim()}`);
    }
  }
}
