// A registry behind admission's verification cache, scripted: a digest verifies when trusted,
// fails (untrusted signer) otherwise, or the registry is down; failures are not cached, so
// each judgement of a failing image is a round. For the running-pod audit's tests (unit, and
// e2e where the apiserver is what is under test).

import type { VerificationResult } from '../../src/decision/facts.ts';
import { cachedVerifier } from '../../src/image-verification/cache.ts';
import type { StagedVerifier } from '../../src/image-verification/verify.ts';

export const digest = (n: number) => `sha256:${n.toString(16).padStart(2, '0').repeat(32)}`;

/** A registry behind admission's cache: a digest verifies when trusted, fails otherwise, or the registry is down. */
export function scriptedRegistry() {
  const registry = {
    trusted: new Set<string>(),
    checked: [] as string[],
    down: false,
    rounds: 0,
    active: 0,
    maxActive: 0,
  };
  const check = async (task: { image: { digest: string } }): Promise<VerificationResult> => {
    registry.rounds++;
    registry.checked.push(task.image.digest);
    registry.active++;
    registry.maxActive = Math.max(registry.maxActive, registry.active);
    await new Promise((r) => setTimeout(r, 5));
    registry.active--;
    if (registry.down) return { ok: false, failure: 'registry-error', reason: 'connect ECONNREFUSED' };
    return registry.trusted.has(task.image.digest)
      ? { ok: true, authority: 'release', detail: 'signed by key release' }
      : { ok: false, failure: 'untrusted-signer', reason: 'signed by another key' };
  };
  const staged = Object.assign(async () => ({ ok: false }) as VerificationResult, {
    material: async () => ({ keys: [], roots: [], access: { problem: 'none' }, fingerprint: 'key-a' }),
    check,
  }) as unknown as StagedVerifier;
  return { registry, verifier: cachedVerifier(staged, { failureTtlMs: 0 }) };
}
