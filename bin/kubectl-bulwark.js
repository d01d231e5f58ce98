#!/usr/bin/env node
// kubectl plugin: put this file on PATH as `kubectl-bulwark` and run `kubectl bulwark ...`.
import { ensureNode24 } from './launch.js';

if (ensureNode24(import.meta.url)) {
  const { plugin } = await import('../src/cli/plugin/main.ts');
  plugin(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 2;
    },
  );
}
