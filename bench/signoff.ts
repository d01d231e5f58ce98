// Signed off by everyone who must, for `npm run bench`: an ImagePolicy that needs all 3
// of build, qa and security (cosign v3 keys; signatures in both formats) plus one
// vulnerability-scan attestation with CEL conditions (severity, freshness), on the
// local oci-registry. Cold: the first review of a new digest (p50 over several);
// warm: the cached review against the same pod where no ImagePolicy applies.

import { join } from 'node:path';
import {
  cosignAttest,
  cosignSign,
  generateKeyPair,
  pushRandomImage,
  registryTools,
  startRegistry,
} from '../test/e2e/helpers/registry.ts';
import { benchTempDir } from './temp.ts';
import { imagePolicyDir, pct, warmReviews, podReview, post, registryRequests, type Serve } from './images.ts';

const SIGNERS = ['build', 'qa', 'security'] as const;
const VULN = 'https://cosign.sigstore.dev/attestation/vuln/v1';
const COLD_IMAGES = 9;

export async function benchSignoff(serve: Serve, ca: string): Promise<void> {
  console.log('\n== Signed off: a 3-signer threshold plus one attestation (local oci-registry, cosign v3)');
  const tools = await registryTools();
  const work = benchTempDir('bulwark-bench-signoff-');
  const registry = await startRegistry('oci-registry', tools, join(work, 'registry'));
  try {
    const keys = await Promise.all(SIGNERS.map((s) => generateKeyPair(tools, join(work, s))));
    const scan = () => ({
      scanner: { uri: 'pkg:github/aquasecurity/trivy', version: '0.60.0', result: { maxSeverity: 'LOW' } },
      metadata: { scanStartedOn: new Date().toISOString(), scanFinishedOn: new Date().toISOString() },
    });
    const images: string[] = [];
    for (let i = 0; i < COLD_IMAGES + 1; i++) {
      const digest = await pushRandomImage(tools, `${registry.host}/bench/signed:latest`, join(work, 'layers'));
      const ref = `${registry.host}/bench/signed@${digest}`;
      await cosignSign(tools, keys[0]!, ref, 'bundle');
      await cosignSign(tools, keys[1]!, ref, 'legacy');
      await cosignSign(tools, keys[2]!, ref, 'bundle');
      await cosignAttest(tools, keys[2]!, ref, VULN, scan(), 'bundle');
      images.push(ref);
    }
    const policies = imagePolicyDir(work, 'bench-signoff', {
      images: [`${registry.host}/**`],
      match: { namespaces: ['demo'] },
      threshold: 3,
      authorities: SIGNERS.map((name, i) => ({ name, key: { publicKey: keys[i]!.publicKeyPem } })),
      attestations: [
        {
          name: 'scan',
          predicateType: VULN,
          authorities: ['security'],
          conditions: [
            { expression: 'predicate.scanner.result.maxSeverity in ["NONE", "LOW", "MEDIUM"]' },
            { expression: 'timestamp(predicate.metadata.scanFinishedOn) > now - duration("168h")' },
          ],
        },
      ],
      registry: { insecure: true },
    });
    const { port, child } = await serve(['--policies', policies]);
    try {
      // The first review warms the process (JIT, connections); the rest are measured cold.
      const cold: number[] = [];
      let perVerification = 0;
      for (const image of images) {
        const before = await registryRequests(port, ca);
        const r = await post(port, ca, podReview(image));
        if (!r.allowed) throw new Error(`signed-off image was denied: ${image}`);
        cold.push(r.ms);
        perVerification = (await registryRequests(port, ca)) - before;
      }
      const measured = cold.slice(1).sort((a, b) => a - b);
      console.log(
        `   cold (first review of a new digest, whole HTTPS round trip, ${measured.length} digests): ` +
          `p50 ${pct(measured, 50).toFixed(1)} ms, max ${measured[measured.length - 1]!.toFixed(1)} ms ` +
          `(goal p50 < 50 ms); ${perVerification} registry requests each`,
      );
      const { warm, unchecked } = await warmReviews(port, ca, images[0]!);
      console.log(
        `   warm (cached) review: p50 ${pct(warm, 50).toFixed(3)} ms; where no ImagePolicy applies: p50 ` +
          `${pct(unchecked, 50).toFixed(3)} ms; overhead p50 ${(pct(warm, 50) - pct(unchecked, 50)).toFixed(3)} ms ` +
          `(goal < 0.1 ms)`,
      );
    } finally {
      child.kill('SIGTERM');
    }
  } finally {
    await registry.stop();
  }
}
