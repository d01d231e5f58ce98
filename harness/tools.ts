// Finds the pinned e2e tools built by test/e2e/tools/build.sh. `--print` only names
// the cached paths; a tool whose binary is missing is built with `--only`, which is
// quick when the Go caches are warm and slow (minutes) when they are cold.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './paths.ts';

const run = promisify(execFile);
const BUILD_SCRIPT = join(REPO_ROOT, 'test', 'e2e', 'tools', 'build.sh');

export type ToolName =
  | 'etcd'
  | 'kube-apiserver'
  | 'kubectl'
  | 'helm'
  | 'cosign'
  | 'crane'
  | 'oci-registry'
  | 'docker-registry'
  | NodeTool
  | ImageTool;
export type ToolPaths<T extends ToolName = ToolName> = Record<T, string>;

/** What a control plane needs; helm, cosign and crane are asked for by the tests that use them. */
export const CONTROL_PLANE_TOOLS = ['etcd', 'kube-apiserver', 'kubectl'] as const;
export type ControlPlaneTool = (typeof CONTROL_PLANE_TOOLS)[number];

/**
 * What the node of a full cluster needs (`cluster up --full`). cni-plugins stands for
 * the bridge plugin, its siblings beside it; node-images for pause.tar, hello.tar beside it.
 */
export const NODE_TOOLS = [
  'kube-controller-manager',
  'kube-scheduler',
  'kubelet',
  'kube-proxy',
  'containerd',
  'containerd-shim-runc-v2',
  'ctr',
  'crictl',
  'cni-plugins',
  'node-images',
  'runc',
  'iptables',
  'conntrack',
  'helm',
] as const;
export type NodeTool = (typeof NODE_TOOLS)[number];

/** What building Bulwark's image here needs: Docker's engine and the local base image's root filesystem. */
export const IMAGE_TOOLS = ['dockerd', 'node-base'] as const;
export type ImageTool = (typeof IMAGE_TOOLS)[number] | 'debootstrap';

async function printPaths(names: readonly ToolName[]): Promise<Map<string, string>> {
  const { stdout } = await run('bash', [BUILD_SCRIPT, '--print', '--only', names.join(',')], { cwd: REPO_ROOT });
  const paths = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) paths.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  return paths;
}

export interface LocateOptions {
  /** Build missing tools (default true); false fails fast instead. */
  build?: boolean;
  log?: (message: string) => void;
}

export async function locateTools<T extends ToolName>(
  names: readonly T[],
  options: LocateOptions = {},
): Promise<ToolPaths<T>> {
  let paths = await printPaths(names);
  const missing = names.filter((n) => !paths.get(n) || !existsSync(paths.get(n) ?? ''));
  if (missing.length > 0) {
    if (options.build === false)
      throw new Error(
        `e2e tools not built: ${missing.join(', ')} (run: bash test/e2e/tools/build.sh --only ${missing.join(',')})`,
      );
    options.log?.(`building missing tools: ${missing.join(', ')} (test/e2e/tools/build.sh; slow on a cold Go cache)`);
    try {
      await run('bash', [BUILD_SCRIPT, '--only', missing.join(',')], { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(
        `building ${missing.join(', ')} failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-15).join('\n')}`,
      );
    }
    paths = await printPaths(names);
  }
  const result: Partial<ToolPaths<T>> = {};
  for (const name of names) {
    const path = paths.get(name);
    if (!path || !existsSync(path))
      throw new Error(`${name} is still missing after building (expected at ${path ?? '?'})`);
    result[name] = path;
  }
  return result as ToolPaths<T>;
}
