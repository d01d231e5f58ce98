// Children of a test run must not outlive it, even when the run crashes or is
// interrupted. Every guarded child is SIGKILLed synchronously on 'exit' and on the
// usual terminating signals. The signal handlers exist only while something is
// guarded, and when they are the only handler for a signal they re-raise it so that
// the process still dies the way it would have without them.

const guarded = new Map<number, () => void>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let installed = false;

function killAll(): void {
  for (const kill of guarded.values()) {
    try {
      kill();
    } catch {
      // already gone
    }
  }
  guarded.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  if (process.listenerCount(signal) === 1) {
    uninstall();
    process.kill(process.pid, signal);
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', killAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/** SIGKILLs `pid` (its process group when `group`) if this process ends first. */
export function guardChild(pid: number, group: boolean): void {
  guarded.set(pid, () => process.kill(group ? -pid : pid, 'SIGKILL'));
  install();
}

export function unguardChild(pid: number): void {
  guarded.delete(pid);
  if (guarded.size === 0) uninstall();
}
