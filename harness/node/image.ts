// Bulwark's image, built from the repository's Dockerfile exactly as users build it,
// except for one build argument: the public base image cannot be pulled here, so
// NODE_IMAGE names a local base of equivalent content (test/e2e/tools/node-base.sh),
// imported into Docker once. The result is saved as a tarball for the node's containerd.

import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { REPO_ROOT } from '../paths.ts';
import type { DockerEngine } from './docker.ts';

export const IMAGE_REPOSITORY = 'bulwark.local/bulwark';

export interface BuiltImage {
  /** repository:tag, the tag derived from the image id (a rebuild of changed sources gets a new one). */
  reference: string;
  repository: string;
  tag: string;
  id: string;
  /** Uncompressed size as Docker reports it. */
  sizeBytes: number;
  /** `docker save` of the reference, for `ctr images import`. */
  tarball: string;
  buildMs: number;
}

async function hasImage(engine: DockerEngine, reference: string): Promise<boolean> {
  try {
    await engine.docker(['image', 'inspect', '--format', '{{.Id}}', reference], { timeoutMs: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** Imports the node-base root filesystem as bulwark.local/node-base:<its cache version>, once. */
export async function localBaseImage(engine: DockerEngine, nodeBaseTar: string): Promise<string> {
  // .../node-base-<version>/bin/node-base.tar: the version names the content.
  const version = basename(dirname(dirname(nodeBaseTar))).replace(/^node-base-/, '');
  const reference = `bulwark.local/node-base:${version}`;
  if (await hasImage(engine, reference)) return reference;
  const env = readFileSync(`${nodeBaseTar}.env`, 'utf8').split('\n').filter(Boolean);
  await engine.docker([
    'import',
    ...env.flatMap((line) => ['--change', `ENV ${line}`]),
    '--change',
    'CMD ["node"]',
    nodeBaseTar,
    reference,
  ]);
  return reference;
}

export interface BuildOptions {
  engine: DockerEngine;
  /** The NODE_IMAGE build argument; undefined keeps the Dockerfile's public default. */
  baseImage?: string;
  outputDir: string;
}

export async function buildBulwarkImage(options: BuildOptions): Promise<BuiltImage> {
  const started = Date.now();
  const { engine } = options;
  const building = `${IMAGE_REPOSITORY}:dev`;
  try {
    await engine.docker(
      [
        'build',
        '--quiet',
        '--network',
        'host',
        ...(options.baseImage ? ['--build-arg', `NODE_IMAGE=${options.baseImage}`] : []),
        '--tag',
        building,
        REPO_ROOT,
      ],
      { timeoutMs: 900_000 },
    );
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(
      `docker build ` +
        `of ${REPO_ROOT} failed: ${(e.stderr || e.stdout || e.message).trim().split('\n').slice(-20).join('\n')}`,
    );
  }
  const [id, size] = (await engine.docker(['image', 'inspect', '--format', '{{.Id}} {{.Size}}', building])).stdout
    .trim()
    .split(' ');
  if (!id) throw new Error(`docker image inspect ${building} gave no id`);
  const tag = `dev-${id.replace(/^sha256:/, '').slice(0, 12)}`;
  const reference = `${IMAGE_REPOSITORY}:${tag}`;
  await engine.docker(['tag', building, reference]);
  const tarball = join(options.outputDir, `bulwark-${tag}.tar`);
  await engine.docker(['save', '--output', tarball, reference]);
  return {
    reference,
    repository: IMAGE_REPOSITORY,
    tag,
    id,
    sizeBytes: Number(size),
    tarball,
    buildMs: Date.now() - started,
  };
}
