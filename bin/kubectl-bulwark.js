#!/usr/bin/env node
// kubectl plugin: put this file on PATH as `kubectl-bulwark` and run `kubectl bulwark ...`.
import { plugin } from '../src/cli/plugin/main.ts';

plugin(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`error: ${err instanceof Error ? err.message : String(err)}`); process.exitCode = 2; },
);
