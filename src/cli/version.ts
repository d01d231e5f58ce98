// `--version`: the version in package.json, read when the program is built (a small
// file next to the sources: no build step stamps it).

import { readFileSync } from 'node:fs';

export function bulwarkVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
