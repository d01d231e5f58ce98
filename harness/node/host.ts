// Facts about the machine that a node of the full cluster depends on, checked before
// anything starts so that a missing piece fails with a sentence, not a kubelet log.
// The node runs as host processes (like Kubernetes' hack/local-up-cluster.sh), so it
// needs root, and only one full cluster can run per machine: kube-proxy's iptables
// chains, the CNI bridge and the kubelet's cgroups are machine-wide.

import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

/** PATH for the node's processes: iptables, conntrack, runc and mount tools live in the sbin directories. */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The address other hosts (and the pods) reach this machine on: the default route's source. */
export function hostAddress(): string {
  const out = execFileSync('ip', ['-4', '-o', 'route', 'get', '192.0.2.255'], { encoding: 'utf8' });
  const match = /\bsrc (\d+\.\d+\.\d+\.\d+)/.exec(out);
  // Without a default route the apiserver cannot choose an advertise address either.
  if (!match?.[1]) throw new Error(`cannot tell this machine's address from \`ip route get\`: ${out.trim()}`);
  return match[1];
}

export function checkHost(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('the full cluster runs a kubelet, containerd and kube-proxy on this machine: it needs root');
  }
  if (!existsSync('/sys/fs/cgroup/memory') && !existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    throw new Error('no cgroup filesystem with a memory controller under /sys/fs/cgroup');
  }
}

export const NODE_LOCK = '/run/bulwark-full-cluster.lock';

/**
 * Claims the machine for the full cluster in `dir`. A lock whose cluster no longer
 * runs (`isLive` says so) is taken over: its leftovers are the reaper's business.
 */
export function claimMachine(dir: string, isLive: (dir: string) => boolean): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(NODE_LOCK, 'wx', 0o600);
      writeFileSync(fd, `${dir}\n`);
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readFileSync(NODE_LOCK, 'utf8').trim();
      if (holder !== dir && isLive(holder)) {
        throw new Error(
          `a full cluster already runs on this machine (${holder}); only one fits: stop it first (npm run ` +
            `cluster -- down)`,
        );
      }
      rmSync(NODE_LOCK, { force: true });
    }
  }
  throw new Error(`could not claim ${NODE_LOCK}`);
}

/** Removes the lock if `dir`'s cluster holds it. */
export function releaseMachine(dir: string): void {
  try {
    if (readFileSync(NODE_LOCK, 'utf8').trim() === dir) rmSync(NODE_LOCK, { force: true });
  } catch {
    // no lock
  }
}
