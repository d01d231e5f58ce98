// Bulwark's CustomResourceDefinitions from the Helm chart, applied before the webhook
// starts (it waits for its policy informers) and waited on until Established, so that
// the first test can create custom resources. Absent CRDs are not an error: the chart
// may not ship any yet.
//
// Established is not yet servable: for a moment after it, lists of the new resource
// answer 429 "storage is (re)initializing" (the watch cache is still starting). So the
// resources are listed until that works too, and Bulwark's informers start clean.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import { kubectlOk, type Kubectl } from './kubectl.ts';
import { REPO_ROOT } from './paths.ts';

export const CRD_DIR = join(REPO_ROOT, 'charts', 'bulwark', 'files', 'crds');

export function crdFiles(dir = CRD_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** `plural.group` of every CRD in the files. */
export function crdNames(files: readonly string[]): string[] {
  return files
    .flatMap((f) =>
      parseAllDocuments(readFileSync(f, 'utf8')).map(
        (d) => d.toJS() as { kind?: string; metadata?: { name?: string } } | null,
      ),
    )
    .filter((o) => o?.kind === 'CustomResourceDefinition' && typeof o.metadata?.name === 'string')
    .map((o) => o?.metadata?.name as string);
}

async function waitListable(kubectl: Kubectl, name: string, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const result = await kubectl(['get', name, '--all-namespaces', '-o', 'name']);
    if (result.code === 0) return;
    if (Date.now() > deadline) throw new Error(`${name} is Established but cannot be listed: ${result.stderr.trim()}`);
    await sleep(100);
  }
}

/** Applies every CRD file and waits until each is Established and listable; returns the files applied. */
export async function applyCrds(kubectl: Kubectl, dir = CRD_DIR): Promise<string[]> {
  const files = crdFiles(dir);
  if (files.length === 0) return [];
  const fileArgs = files.flatMap((f) => ['-f', f]);
  await kubectlOk(kubectl, ['apply', '--server-side', '--force-conflicts', ...fileArgs]);
  await kubectlOk(kubectl, ['wait', '--for=condition=Established', '--timeout=60s', ...fileArgs], {
    timeoutMs: 70_000,
  });
  await Promise.all(crdNames(files).map((name) => waitListable(kubectl, name, 30_000)));
  return files;
}
