// Where things are: the repository root (the harness runs from any working directory)
// and the Node binary that runs Bulwark's TypeScript sources.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The pinned Node 24 from devDependencies; the current one when it is missing. */
export function nodeBinary(): string {
  const pinned = join(REPO_ROOT, 'node_modules', '.bin', 'node');
  return existsSync(pinned) ? pinned : process.execPath;
}
