// Bulwark's attestation keys, in-process against the real apiserver: created at first start
// when absent, one key agreed by replicas starting together, a rotation picked up on the
// next read, and a Secret without a usable key refused rather than used.

import { describe, expect, it } from 'vitest';
import type { AttestationKeyRing } from '../../src/attestation/keys.ts';
import { attestationKeySource, KEY_ID, newKeyId } from '../../src/cluster/attestation-keys.ts';
import { createKubeReader, loadKubeConfig } from '../../src/cluster/kube-client.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { e2eCluster, kubectl, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';

const logger = createLogger('silent');
const client = async () => createKubeReader((await loadKubeConfig('required', e2eCluster().kubeconfig))!);

/** Starts a key source and returns the rings it reports, and the source. */
async function started(namespace: string, refreshMs = 100) {
  const rings: AttestationKeyRing[] = [];
  const source = attestationKeySource({
    client: await client(),
    namespace,
    secretName: 'keys',
    logger,
    refreshMs,
    onKeys: (r) => rings.push(r),
  });
  await source.start();
  return { rings, source };
}

describe('attestation keys', () => {
  it('two replicas starting together create one Secret and agree on its key', async () => {
    const ns = await newNamespace('keys');
    const [a, b] = await Promise.all([started(ns), started(ns)]);
    a.source.stop();
    b.source.stop();
    expect(a.rings[0]!.signingKeyId).toMatch(KEY_ID);
    expect(b.rings[0]!.signingKeyId).toBe(a.rings[0]!.signingKeyId);
    expect(Buffer.from(b.rings[0]!.keys.get(b.rings[0]!.signingKeyId)!)).toHaveLength(32);
  });

  it('signs with a newer key once it is added, and still verifies with the old', async () => {
    const ns = await newNamespace('keys');
    const { rings, source } = await started(ns);
    const old = rings[0]!.signingKeyId;
    const newer = newKeyId(new Date(Date.now() + 60_000));
    const data = { [newer]: Buffer.alloc(32, 3).toString('base64') };
    await kubectlOk(kubectl, ['patch', 'secret', 'keys', '-n', ns, '-p', JSON.stringify({ data })]);
    const deadline = Date.now() + 10_000;
    while (rings.at(-1)!.signingKeyId !== newer && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    source.stop();
    expect(rings.at(-1)!.signingKeyId).toBe(newer);
    expect(rings.at(-1)!.keys.has(old)).toBe(true);
  });

  it('does not use a Secret without a usable key (short, or misnamed)', async () => {
    const ns = await newNamespace('keys');
    const data = { 'not-an-id': Buffer.alloc(32).toString('base64'), [newKeyId(new Date())]: 'c2hvcnQ=' };
    await kubectlOk(kubectl, ['create', 'secret', 'generic', 'keys', '-n', ns]);
    await kubectlOk(kubectl, ['patch', 'secret', 'keys', '-n', ns, '-p', JSON.stringify({ data })]);
    const rings: AttestationKeyRing[] = [];
    const source = attestationKeySource({
      client: await client(),
      namespace: ns,
      secretName: 'keys',
      logger,
      onKeys: (r) => rings.push(r),
    });
    const starting = source.start();
    await new Promise((r) => setTimeout(r, 1500));
    source.stop();
    await starting;
    expect(rings).toEqual([]);
  });
});
