// A server process's own CPU time, read from /proc: the load generator's share is left
// out, so the figure does not move with how the two cores are shared between them.

import { readFileSync } from 'node:fs';

/** The process's user and system CPU so far, in milliseconds (clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
