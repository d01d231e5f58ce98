// Machine-wide kernel settings that the kubelet and kube-proxy change when they start
// (container_manager_linux.go's setupKernelTunables; kube-proxy's route_localnet and
// conntrack limits). Recorded before the node starts and written back on teardown,
// so that `cluster down` leaves the machine as it found it.

import { readFileSync, writeFileSync } from 'node:fs';

const TOUCHED = [
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
  'net/ipv4/conf/all/route_localnet',
  'net/bridge/bridge-nf-call-iptables',
  'net/ipv4/ip_forward',
  'net/netfilter/nf_conntrack_max',
  'net/netfilter/nf_conntrack_tcp_timeout_established',
  'net/netfilter/nf_conntrack_tcp_timeout_close_wait',
] as const;

export type SysctlSnapshot = Record<string, string>;

export function recordSysctls(): SysctlSnapshot {
  const snapshot: SysctlSnapshot = {};
  for (const key of TOUCHED) {
    try {
      snapshot[key] = readFileSync(`/proc/sys/${key}`, 'utf8').trim();
    } catch {
      // not on this kernel
    }
  }
  return snapshot;
}

/** Writes back what differs; returns the keys it could not restore. */
export function restoreSysctls(snapshot: SysctlSnapshot): string[] {
  const failed: string[] = [];
  for (const [key, value] of Object.entries(snapshot)) {
    try {
      if (readFileSync(`/proc/sys/${key}`, 'utf8').trim() !== value) writeFileSync(`/proc/sys/${key}`, `${value}\n`);
    } catch {
      failed.push(key);
    }
  }
  return failed;
}
