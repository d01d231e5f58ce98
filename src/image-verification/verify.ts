// The Verifier: one pinned image digest against one ImagePolicy's authorities.
//
// - Approved digests are checked first and need no registry round trip.
// - Key authorities: the digest's signatures are located once (both cosign formats, see
//   locate.ts) and checked against each key; any authority that verifies admits.
// - Failure, when no authority verifies, is the most informative one found:
//   wrong-digest > not-genuine > untrusted-signer > registry-error > configuration >
//   unsigned, and an aborted signal (the decision deadline) is always `timeout`.
//
// Multi-arch images: the digest the pod names is the digest verified, nothing else. A
// pod naming an index digest is admitted by a signature of the index; a pod naming a
// platform manifest digest needs a signature of that manifest. A signature of an index
// does not cover its platform manifests, nor the reverse: a signature covers the bytes
// it names, and following the index (or guessing the index a manifest came from) would
// admit digests nobody signed. (cosign signs what it is given; `cosign sign
// --recursive` signs the index and each platform manifest, which satisfies both.)

import type { KeyObject } from 'node:crypto';
import type { ReadSecret } from '../cluster/secrets.ts';
import { isBulwarkError } from '../errors.ts';
import { DEFAULT_LOCK_LABEL } from '../policy/builtin.ts';
import type { LockLabel } from '../policy/compiled.ts';
import { createRegistryClient, type RegistryClient } from '../registry/client.ts';
import { checkBundle } from '../rules/images/cosign/bundle.ts';
import { checkLegacySignature, legacySignatureTag, type SignatureCheck } from '../rules/images/cosign/legacy.ts';
import { locateSignatures, type FoundSignatures } from './locate.ts';
import { resolveMaterial, type KeyAuthority, type VerificationMaterial } from './material.ts';
import type { VerificationFailure, VerificationResult } from '../decision/facts.ts';
import type { VerificationTask, Verifier } from '../rules/images/verification.ts';

export interface CreateVerifierOptions {
  /** Shared so connections and tokens are reused; a new client by default. */
  registry?: RegistryClient;
  /** Reads key and credential Secrets (cluster/secrets.ts); without it secretRefs are configuration failures. */
  readSecret?: ReadSecret;
  /** The label a key Secret must carry (the lock label); default bulwark.dev/immutable=true. */
  lockLabel?: LockLabel;
}

/**
 * A Verifier in two steps, so that a cache can key on what the result depends on: read
 * the material (keys, credentials: Secrets, no registry), then check the signatures.
 * Called as a function it does both.
 */
export interface StagedVerifier extends Verifier {
  material(task: VerificationTask, signal: AbortSignal): Promise<VerificationMaterial>;
  check(task: VerificationTask, material: VerificationMaterial, signal: AbortSignal): Promise<VerificationResult>;
}

interface Outcome {
  authority: string;
  failure: VerificationFailure;
  reason: string;
}

const RANK: Record<VerificationFailure, number> = {
  timeout: 7,
  'wrong-digest': 6,
  'not-genuine': 5,
  'untrusted-signer': 4,
  'registry-error': 3,
  configuration: 2,
  unsigned: 1,
};

const MAX_REASON = 1500;

function worst(outcomes: readonly Outcome[]): VerificationResult {
  const sorted = [...outcomes].sort((a, b) => RANK[b.failure] - RANK[a.failure]);
  const top = sorted[0];
  if (!top) return { ok: false, failure: 'unsigned', reason: 'the policy has no authorities' };
  const reason =
    outcomes.length === 1
      ? top.reason
      : sorted.map((o) => `authority ${JSON.stringify(o.authority)}: ${o.reason}`).join('; ');
  return {
    ok: false,
    failure: top.failure,
    reason: reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1)}…` : reason,
  };
}

/** One key against every located signature. */
function judge(
  found: FoundSignatures,
  key: KeyObject,
  digest: string,
): { ok: true; detail: string } | { ok: false; failure: VerificationFailure; reason: string } {
  const checks: (SignatureCheck & { where: string })[] = [];
  if (found.legacy.ok) {
    for (const c of found.legacy.candidates)
      checks.push({
        ...checkLegacySignature(c.payload, c.signature, key, digest),
        where: `tag ${legacySignatureTag(digest)}`,
      });
  }
  if (found.bundles.ok) {
    for (const c of found.bundles.candidates) {
      const check: SignatureCheck = c.problem
        ? { outcome: 'not-genuine', reason: c.problem }
        : checkBundle(c.json, key, digest);
      checks.push({ ...check, where: c.via });
    }
  }
  const good = checks.find((c) => c.outcome === 'ok');
  if (good && good.outcome === 'ok') return { ok: true, detail: `${good.detail} (${good.where})` };
  const errors = [found.legacy, found.bundles].flatMap((l) => (l.ok ? [] : [l.error]));
  const aborted = errors.find((e) => isBulwarkError(e, 'REGISTRY_ABORTED'));
  if (aborted) return { ok: false, failure: 'timeout', reason: aborted.message };
  const failed = (['wrong-digest', 'not-genuine', 'untrusted-signer'] as const)
    .map((o) => checks.find((c) => c.outcome === o))
    .find((c) => c !== undefined);
  // Both lookups usually fail alike (registry down, 503): one message per kind of failure is enough.
  const registryTrouble = errors
    .filter((e, i) => errors.findIndex((f) => f.code === e.code) === i)
    .map((e) => e.message)
    .join('; ');
  if (failed && failed.outcome !== 'ok')
    return {
      ok: false,
      failure: failed.outcome,
      reason: `${failed.reason} (${failed.where})${registryTrouble ? `; also: ${registryTrouble}` : ''}`,
    };
  if (errors.length > 0) return { ok: false, failure: 'registry-error', reason: registryTrouble };
  const notes = [found.legacy, found.bundles].flatMap((l) => (l.ok ? l.notes : []));
  return { ok: false, failure: 'unsigned', reason: `no cosign signature for ${digest} (${notes.join('; ')})` };
}

export function createVerifier(options: CreateVerifierOptions = {}): StagedVerifier {
  const client = options.registry ?? createRegistryClient();
  const { readSecret } = options;
  const lockLabel = options.lockLabel ?? DEFAULT_LOCK_LABEL;

  const material = (task: VerificationTask, signal: AbortSignal) =>
    resolveMaterial(task, readSecret, lockLabel, signal);

  async function check(
    task: VerificationTask,
    resolved: VerificationMaterial,
    signal: AbortSignal,
  ): Promise<VerificationResult> {
    const { image, policy } = task;
    const digest = image.digest;
    if (policy.invalid)
      return {
        ok: false,
        failure: 'configuration',
        reason: `ImagePolicy ${policy.name} is invalid: ${policy.invalid}`,
      };
    const approved = policy.authorities.find((a) => a.kind === 'digests' && a.digests.has(digest));
    if (approved) return { ok: true, authority: approved.name, detail: `${digest} is on its approved-digest list` };

    const outcomes: Outcome[] = policy.authorities
      .filter((a) => a.kind === 'digests')
      .map((a) => ({ authority: a.name, failure: 'unsigned', reason: `${digest} is not on its approved-digest list` }));
    const { access } = resolved;
    let stage = 'reading Secrets';
    const usable: { authority: KeyAuthority; key: KeyObject }[] = [];
    for (const { authority, key } of resolved.keys) {
      if ('problem' in key) outcomes.push({ authority: authority.name, failure: 'configuration', reason: key.problem });
      else if ('problem' in access)
        outcomes.push({ authority: authority.name, failure: 'configuration', reason: access.problem });
      else usable.push({ authority, key: key.key });
    }
    if (usable.length > 0 && !('problem' in access) && !signal.aborted) {
      stage = `waiting for registry ${image.registry}`;
      const found = await locateSignatures({ client, access, repository: image.repository, digest, signal });
      for (const { authority, key } of usable) {
        const verdict = judge(found, key, digest);
        if (verdict.ok) return { ok: true, authority: authority.name, detail: verdict.detail };
        outcomes.push({ authority: authority.name, failure: verdict.failure, reason: verdict.reason });
      }
    }
    if (signal.aborted) {
      const why = signal.reason instanceof Error ? signal.reason.message : 'aborted';
      return {
        ok: false,
        failure: 'timeout',
        reason: `verification did not finish before the deadline (${stage}): ${why}`,
      };
    }
    return worst(outcomes);
  }

  const verify = async (task: VerificationTask, signal: AbortSignal) =>
    check(task, await material(task, signal), signal);
  return Object.assign(verify, { material, check });
}
