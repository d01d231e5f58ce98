// The pinned versions and image names of test/e2e/tools/versions.env, which build.sh
// sources too: plain KEY=value lines.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../paths.ts';

export const VERSIONS_FILE = join(REPO_ROOT, 'test', 'e2e', 'tools', 'versions.env');

export type Versions = Record<string, string> & { KUBE_VERSION: string; PAUSE_IMAGE: string; HELLO_IMAGE: string };

export function readVersions(file = VERSIONS_FILE): Versions {
  const values: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1]) values[match[1]] = match[2] ?? '';
  }
  for (const key of ['KUBE_VERSION', 'PAUSE_IMAGE', 'HELLO_IMAGE']) {
    if (!values[key]) throw new Error(`${file} has no ${key}`);
  }
  return values as Versions;
}
