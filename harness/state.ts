// Every cluster directory holds state.json: who owns the cluster, which processes run
// for it, on which ports. It is written before the first process starts and updated
// after each, so that a cluster whose owner died (a crashed or SIGKILLed test run) can
// be found and stopped by the next run, and a detached cluster by `cluster down`.

import { readdirSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, isSameProcess, terminatePid } from './pids.ts';
import { teardownNode, type NodeState } from './node/teardown.ts';
import { stopOrder, type ProcessRecord } from './processes.ts';

/** Cluster directories are `<tmpdir>/bulwark-cluster-XXXXXX`. */
export const DIR_PREFIX = 'bulwark-cluster-';

export interface ClusterState {
  dir: string;
  /** The process that started the cluster; it stops it, unless detached. */
  ownerPid: number;
  /** Started by `cluster up`: meant to outlive its owner. */
  detached: boolean;
  startedAt: string;
  server?: string;
  kubeconfig?: string;
  ports: Record<string, number>;
  processes: ProcessRecord[];
  /** Stopped with the directory kept on purpose (for its logs): not an orphan. */
  kept?: boolean;
  /** A full cluster's node: what teardown must undo beyond stopping processes. */
  node?: NodeState;
}

export function stateFile(dir: string): string {
  return join(dir, 'state.json');
}

export async function writeState(state: ClusterState): Promise<void> {
  await writeFile(stateFile(state.dir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

export function readState(file: string): ClusterState | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

/** True while the cluster in `dir` has a recorded process running. */
export function clusterRuns(dir: string): boolean {
  const state = readState(stateFile(dir));
  return state !== undefined && runningProcesses(state).length > 0;
}

/** The recorded processes still running (same pid and start time). */
export function runningProcesses(state: ClusterState): ProcessRecord[] {
  return state.processes.filter((p) => isSameProcess(p.pid, p.startTime));
}

/**
 * Stops the recorded processes (see stopOrder), takes a full cluster's node down first
 * (see node/teardown.ts) and removes the directory. Returns what could not be undone.
 */
export async function stopRecorded(
  state: ClusterState,
  options: { graceMs?: number; keepDir?: boolean } = {},
): Promise<string[]> {
  const survivors: string[] = state.node ? await teardownNode(state.dir, state.processes, state.node) : [];
  for (const p of stopOrder(state.processes)) {
    if (!isSameProcess(p.pid, p.startTime)) continue;
    const gone = await terminatePid(p.pid, { group: p.detached, graceMs: options.graceMs ?? 5000 });
    if (!gone) survivors.push(`${p.name} (pid ${p.pid})`);
  }
  if (!options.keepDir) await rm(state.dir, { recursive: true, force: true });
  return survivors;
}

/**
 * Stops clusters of test runs that died without cleaning up: attached clusters whose
 * owner is gone. Detached clusters are left to `cluster down`. Returns the directories.
 */
export async function reapOrphanedClusters(root = tmpdir()): Promise<string[]> {
  const reaped: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(root).filter((e) => e.startsWith(DIR_PREFIX));
  } catch {
    return reaped;
  }
  for (const entry of entries) {
    const state = readState(stateFile(join(root, entry)));
    if (!state || state.detached || state.kept || state.ownerPid === process.pid || isAlive(state.ownerPid)) continue;
    await stopRecorded(state, { graceMs: 1000 });
    reaped.push(state.dir);
  }
  return reaped;
}
