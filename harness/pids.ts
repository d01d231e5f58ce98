// Processes known only by pid: those of a detached cluster started by an earlier
// `npm run cluster -- up`, or those left behind by a crashed run. A pid may have been
// reused since it was recorded, so a process is only touched when its start time (from
// /proc) is still the recorded one. Zombies count as gone: in a container, PID 1 may
// never reap the orphans it inherits.

import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Fields of /proc/PID/stat after "pid (comm)": [0] is the state, [19] the start time. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: the fields start after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== 'Z';
}

/** When the process started, in clock ticks since boot: with the pid, it names one process. */
export function startTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** True when `pid` runs and is the process that was recorded with `recordedStart`. */
export function isSameProcess(pid: number, recordedStart: string | undefined): boolean {
  return isAlive(pid) && (recordedStart === undefined || startTime(pid) === recordedStart);
}

function signal(pid: number, sig: NodeJS.Signals, group: boolean): void {
  try {
    process.kill(group ? -pid : pid, sig);
  } catch {
    // gone, or the group has no members left
  }
}

/**
 * SIGTERM, then SIGKILL after `graceMs`. Returns true when the process is gone.
 * `group` signals the whole process group (detached children lead their own).
 */
export async function terminatePid(pid: number, options: { group: boolean; graceMs: number }): Promise<boolean> {
  if (!isAlive(pid)) return true;
  signal(pid, 'SIGTERM', options.group);
  const deadline = Date.now() + options.graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(50);
  }
  signal(pid, 'SIGKILL', options.group);
  for (let i = 0; i < 40 && isAlive(pid); i++) await sleep(50);
  return !isAlive(pid);
}
