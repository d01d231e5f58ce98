// Shared by the bin entries: Bulwark's sources are TypeScript run by Node 24's type
// stripping. On an older Node (say the system's, when `kubectl bulwark` finds this on
// PATH) re-run the command with the Node 24 that `npm ci` put in node_modules, or say
// plainly what is needed.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';

const MIN_MAJOR = 24;

/** Returns true when this process can run the sources; otherwise re-runs or exits. */
export function ensureNode24(entry) {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= MIN_MAJOR) {
    // Node's on-disk compile cache (in the OS temporary directory) keeps the type-stripped,
    // compiled sources between runs: the CLI then starts without stripping every file again.
    // NODE_DISABLE_COMPILE_CACHE=1 turns it off; where the directory is not writable it is skipped.
    // Not for `serve`: the webhook starts once, and its pod's file system is none of our business.
    if (process.argv[2] !== 'serve') {
      try {
        nodeModule.enableCompileCache?.();
      } catch {
        // no cache: only slower
      }
    }
    return true;
  }
  const local = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (existsSync(local)) {
    const result = spawnSync(local, [fileURLToPath(entry), ...process.argv.slice(2)], { stdio: 'inherit' });
    process.exit(result.status ?? 1);
  }
  console.error(
    `bulwark needs Node.js ${MIN_MAJOR} or newer; this is ${process.version}. Run \`npm ci\` in the Bulwark ` +
      `checkout (it brings Node ${MIN_MAJOR}) or install Node ${MIN_MAJOR}.`,
  );
  process.exit(2);
}
