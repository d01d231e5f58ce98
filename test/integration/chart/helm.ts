// Rendering the chart with the pinned helm (test/e2e/tools/build.sh builds it when it is
// missing) and parsing the output with `yaml`, so tests assert on objects, not text.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { readVersions } from '../../../harness/node/versions.ts';
import { REPO_ROOT } from '../../../harness/paths.ts';
import { locateTools } from '../../../harness/tools.ts';

const run = promisify(execFile);

export const CHART_DIR = join(REPO_ROOT, 'charts', 'bulwark');
export const NAMESPACE = 'bulwark-system';
/** The Kubernetes version the e2e cluster runs; helm's own default would be its client-go's. */
export const KUBE_VERSION = readVersions().KUBE_VERSION;

/** A Kubernetes object as rendered; tests drill in with `dig`. */
export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
} & Record<string, unknown>;

let helmPath: Promise<string> | undefined;
export function helm(): Promise<string> {
  helmPath ??= locateTools(['helm']).then((t) => t.helm);
  return helmPath;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runHelm(args: string[]): Promise<HelmResult> {
  try {
    const { stdout, stderr } = await run(await helm(), args, { cwd: REPO_ROOT, maxBuffer: 32 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}

/** One --set-json per top-level key: helm deep-merges them into the chart's values, no files needed. */
export function valueArgs(values: Record<string, unknown>): string[] {
  return Object.entries(values).flatMap(([key, value]) => ['--set-json', `${key}=${JSON.stringify(value)}`]);
}

export interface TemplateOptions {
  release?: string;
  namespace?: string;
  extraArgs?: string[];
}

/** `helm template`; the raw result, for tests that expect a failure. */
export async function template(
  values: Record<string, unknown> = {},
  options: TemplateOptions = {},
): Promise<HelmResult> {
  return runHelm([
    'template',
    options.release ?? 'bulwark',
    CHART_DIR,
    '--namespace',
    options.namespace ?? NAMESPACE,
    '--kube-version',
    KUBE_VERSION,
    ...valueArgs(values),
    ...(options.extraArgs ?? []),
  ]);
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null && typeof m === 'object');
}

/** Renders and parses; throws with helm's message when rendering fails. */
export async function render(values: Record<string, unknown> = {}, options: TemplateOptions = {}): Promise<Manifest[]> {
  const result = await template(values, options);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr.trim()}`);
  return parseManifests(result.stdout);
}

export function find(manifests: Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (found.length !== 1)
    throw new Error(
      `expected one ${kind}${name ? ` ${name}` : ''}, ` +
        `found ${found.length}: ${manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ')}`,
    );
  return found[0] as Manifest;
}

export function kinds(manifests: Manifest[]): string[] {
  return manifests.map((m) => m.kind).sort();
}

/** Follows a path of keys and indexes; undefined when anything on the way is missing. */
export function dig(value: unknown, ...path: (string | number)[]): any {
  let current: unknown = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}
