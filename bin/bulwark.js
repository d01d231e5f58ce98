#!/usr/bin/env node
// Entry point for `npx bulwark` / the `bulwark` bin. The sources are TypeScript run
// directly by Node 24's type stripping, so there is no build step to forget.
import { ensureNode24 } from './launch.js';

if (ensureNode24(import.meta.url)) {
  const { main } = await import('../src/cli/main.ts');
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exitCode = 2;
    },
  );
}
