// The kubelet's own iptables chains. kube-proxy --cleanup removes kube-proxy's, but the
// kubelet also makes KUBE-FIREWALL (hooked into INPUT and OUTPUT: it drops outside
// traffic to 127.0.0.0/8), KUBE-KUBELET-CANARY and KUBE-IPTABLES-HINT, and leaves them
// behind when it stops. Teardown removes exactly these, in IPv4 and IPv6.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SYSTEM_PATH } from './host.ts';

const run = promisify(execFile);
const KUBELET_CHAINS = ['KUBE-FIREWALL', 'KUBE-KUBELET-CANARY', 'KUBE-IPTABLES-HINT'];

async function tool(command: string, args: string[]): Promise<string> {
  return (await run(command, args, { env: { ...process.env, PATH: SYSTEM_PATH }, timeout: 30_000 })).stdout;
}

/** Removes the kubelet's chains and the rules that jump to them; returns what failed. */
export async function removeKubeletChains(): Promise<string[]> {
  const problems: string[] = [];
  for (const command of ['iptables', 'ip6tables']) {
    for (const table of ['filter', 'nat', 'mangle']) {
      let rules: string[];
      try {
        rules = (await tool(command, ['-w', '-t', table, '-S'])).split('\n');
      } catch {
        continue; // no such table or no binary
      }
      const jumps = rules.filter(
        (r) =>
          r.startsWith('-A ') &&
          KUBELET_CHAINS.some((c) => r.endsWith(`-j ${c}`)) &&
          !KUBELET_CHAINS.some((c) => r.startsWith(`-A ${c} `)),
      );
      const chains = KUBELET_CHAINS.filter((c) => rules.includes(`-N ${c}`));
      try {
        // -S prints rules quoted for a shell; these simple jumps have no quoting to undo.
        for (const rule of jumps) await tool(command, ['-w', '-t', table, '-D', ...rule.slice(3).split(' ')]);
        for (const chain of chains) await tool(command, ['-w', '-t', table, '-F', chain]);
        for (const chain of chains) await tool(command, ['-w', '-t', table, '-X', chain]);
      } catch (err) {
        problems.push(
          `${command} -t ${table}: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`,
        );
      }
    }
  }
  return problems;
}
