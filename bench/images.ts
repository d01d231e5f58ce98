// Image verification figures for `npm run bench`: cold verification against a local
// registry, the warm (cached) overhead, and how many registry requests 100 concurrent
// reviews of pods with one new image cause.

import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { stringify } from 'yaml';
import { loadReview } from '../test/helpers/fixtures.ts';
import { benchTempDir } from './temp.ts';
import {
  cosignSign,
  generateKeyPair,
  pushRandomImage,
  registryTools,
  startRegistry,
} from '../test/e2e/helpers/registry.ts';

/**
 * 2,000 cached reviews of a pod with `image`, interleaved with as many of the same pod in a
 * namespace where no ImagePolicy applies: the difference is what verification costs warm.
 * Each list sorted, in ms.
 */
export async function warmReviews(port: number, ca: string, image: string) {
  const warm: number[] = [];
  const unchecked: number[] = [];
  for (let i = 0; i < 2000; i++) {
    warm.push((await post(port, ca, podReview(image))).ms);
    unchecked.push((await post(port, ca, podReview(image, 'no-policy-here'))).ms);
  }
  warm.sort((a, b) => a - b);
  unchecked.sort((a, b) => a - b);
  return { warm, unchecked };
}

/** A policies folder holding one ImagePolicy (`serve --policies` reads it); returns its path. */
export function imagePolicyDir(work: string, name: string, spec: Record<string, unknown>): string {
  const dir = join(work, 'policies');
  mkdirSync(dir);
  const policy = { apiVersion: 'bulwark.dev/v1alpha1', kind: 'ImagePolicy', metadata: { name }, spec };
  writeFileSync(join(dir, 'images.yaml'), stringify(policy));
  return dir;
}

export type Serve = (extra: string[]) => Promise<{ port: number; child: import('node:child_process').ChildProcess }>;

export function podReview(image: string, namespace = 'demo'): Buffer {
  const review = structuredClone(loadReview('pod-create'));
  review.request.uid = randomUUID();
  review.request.namespace = namespace;
  (review.request.object as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image = image;
  review.request.object!.metadata!.namespace = namespace;
  delete review.request.object!.metadata!.labels;
  return Buffer.from(JSON.stringify(review));
}

export function post(port: number, ca: string, body: Buffer): Promise<{ ms: number; allowed: boolean }> {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/validate',
        method: 'POST',
        ca,
        servername: 'localhost',
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () =>
          resolve({
            ms: Number(process.hrtime.bigint() - t) / 1e6,
            allowed: JSON.parse(text).response?.allowed === true,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function registryRequests(port: number, ca: string): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/metrics', ca, servername: 'localhost' }, (res) => {
      let t = '';
      res.on('data', (c: Buffer) => {
        t += c.toString();
      });
      res.on('end', () => resolve(t));
    })
      .on('error', reject)
      .end();
  });
  return [...text.matchAll(/^bulwark_registry_requests_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

export const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export async function benchImages(serve: Serve, ca: string): Promise<void> {
  console.log('\n== Image verification (local oci-registry, cosign bundle signatures)');
  const tools = await registryTools();
  const work = benchTempDir('bulwark-bench-images-');
  const registry = await startRegistry('oci-registry', tools, join(work, 'registry'));
  try {
    const key = await generateKeyPair(tools, join(work, 'key'));
    const pushSigned = async () => {
      const digest = await pushRandomImage(tools, `${registry.host}/bench/app:latest`, join(work, 'layers'));
      const ref = `${registry.host}/bench/app@${digest}`;
      await cosignSign(tools, key, ref, 'bundle');
      return ref;
    };
    const images = [await pushSigned(), await pushSigned(), await pushSigned()];
    const policies = imagePolicyDir(work, 'bench', {
      images: [`${registry.host}/**`],
      match: { namespaces: ['demo'] },
      authorities: [{ name: 'k', key: { publicKey: key.publicKeyPem } }],
      registry: { insecure: true },
    });
    const { port, child } = await serve(['--policies', policies]);
    try {
      const cold: number[] = [];
      let perVerification = 0;
      for (const image of images.slice(0, 2)) {
        const before = await registryRequests(port, ca);
        const r = await post(port, ca, podReview(image));
        if (!r.allowed) throw new Error('signed image was denied');
        cold.push(r.ms);
        perVerification = (await registryRequests(port, ca)) - before;
      }
      console.log(
        `   cold verification (first review of a new signed digest, whole HTTPS round ` +
          `trip): ${cold.map((ms) => `${ms.toFixed(1)} ms`).join(', ')}; ${perVerification} registry requests each`,
      );

      const { warm, unchecked } = await warmReviews(port, ca, images[0]!);
      console.log(
        `   warm (cached) pod review: p50 ${pct(warm, 50).toFixed(3)} ms, p99 ${pct(warm, 99).toFixed(3)} ms; ` +
          `same pod where no ImagePolicy applies: p50 ${pct(unchecked, 50).toFixed(3)} ms, ` +
          `p99 ${pct(unchecked, 99).toFixed(3)} ms`,
      );
      console.log(`   warm overhead of a verified image: p50 ${(pct(warm, 50) - pct(unchecked, 50)).toFixed(3)} ms`);

      const before = await registryRequests(port, ca);
      const results = await Promise.all(Array.from({ length: 100 }, () => post(port, ca, podReview(images[2]!))));
      const after = await registryRequests(port, ca);
      const times = results.map((r) => r.ms).sort((a, b) => a - b);
      console.log(
        `   100 concurrent reviews of pods with one new ` +
          `image: ${results.filter((r) => r.allowed).length} allowed, ${after - before} registry requests in ` +
          `all (one verification takes ${perVerification}), slowest review ${times[times.length - 1]!.toFixed(1)} ms`,
      );
    } finally {
      child.kill('SIGTERM');
    }
  } finally {
    await registry.stop();
  }
}
