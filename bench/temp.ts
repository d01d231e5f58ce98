// Temporary directories of `npm run bench`, all removed when the bench process exits
// (also after a failure or Ctrl-C): runs used to leave dozens of bulwark-wrk-* and
// bulwark-bench-* directories behind.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();

function removeAll(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
}

process.once('exit', removeAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    removeAll();
    process.exit(130);
  });
}

/** A new directory under the temp dir, removed at exit (`prefix`: bulwark-bench-..., bulwark-wrk-...). */
export function benchTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/** Removes a directory made by benchTempDir now (a long run makes many). */
export function removeBenchTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  made.delete(dir);
}
