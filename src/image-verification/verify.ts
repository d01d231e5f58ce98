// The Verifier: one pinned image digest against one ImagePolicy's authorities.
//
// - Approved digests are checked first and need no registry round trip.
// - Key authorities: the digest's signatures are located once (both cosign formats, see
//   locate.ts) and checked against each key.
// - The policy's threshold (default one) and required authorities decide, each signer
//   counted once (rules/images/threshold.ts). Failure, when nothing verifies, is the
//   most informative one found: wrong-digest > not-genuine > untrusted-signer >
//   registry-error > configuration > unsigned, and an aborted signal (the decision
//   deadline) is always `timeout`; when some verified but too few, `too-few-signers`.
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
import { combineSigners, thresholdMet, type AuthorityOutcome } from '../rules/images/threshold.ts';
import { gatherAttestations } from './attest.ts';
import { locateSignatures, type FoundSignatures, type Where } from './locate.ts';
import { hintOf, resolveMaterial, type KeyAuthority, type VerificationMaterial } from './material.ts';
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

function timedOut(signal: AbortSignal, stage: string): VerificationResult {
  const why = signal.reason instanceof Error ? signal.reason.message : 'aborted';
  return {
    ok: false,
    failure: 'timeout',
    reason: `verification did not finish before the deadline (${stage}): ${why}`,
  };
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
    // Approved digests need no registry: when they alone meet the threshold, stop here.
    const outcomes: AuthorityOutcome[] = [];
    for (const a of policy.authorities) {
      if (a.kind !== 'digests') continue;
      outcomes.push(
        a.digests.has(digest)
          ? { authority: a.name, ok: true, detail: `${digest} is on its approved-digest list` }
          : {
              authority: a.name,
              ok: false,
              failure: 'unsigned',
              reason: `${digest} is not on its approved-digest list`,
            },
      );
    }
    const passedSoFar = outcomes.filter((o) => o.ok).map((o) => o.authority);
    if (thresholdMet(policy, passedSoFar) && policy.attestations.length === 0) return combineSigners(policy, outcomes);

    const { access } = resolved;
    let stage = 'reading Secrets';
    let located: { found: FoundSignatures; keys: Map<string, KeyObject>; where: Where } | undefined;
    const usable: { authority: KeyAuthority; key: KeyObject }[] = [];
    for (const { authority, key } of resolved.keys) {
      if ('problem' in key)
        outcomes.push({ authority: authority.name, ok: false, failure: 'configuration', reason: key.problem });
      else if ('problem' in access)
        outcomes.push({ authority: authority.name, ok: false, failure: 'configuration', reason: access.problem });
      else usable.push({ authority, key: key.key });
    }
    if (usable.length > 0 && !('problem' in access) && !signal.aborted) {
      stage = `waiting for registry ${image.registry}`;
      const where = { client, access, repository: image.repository, digest, signal };
      const found = await locateSignatures(where);
      located = { found, where, keys: new Map(usable.map((u) => [u.authority.name, u.key])) };
      // Every key is judged against the same signatures (no more registry work), so that
      // a threshold counts every signer and a denial names each one that is missing.
      for (const { authority, key } of usable) {
        const verdict = judge(found, key, digest);
        outcomes.push(
          verdict.ok
            ? { authority: authority.name, ok: true, detail: verdict.detail, signer: hintOf(key) }
            : { authority: authority.name, ok: false, failure: verdict.failure, reason: verdict.reason },
        );
      }
    }
    if (signal.aborted) return timedOut(signal, stage);
    // Report outcomes in the policy's order, whatever order they were found in.
    const order = policy.authorities.map((a) => a.name);
    outcomes.sort((a, b) => order.indexOf(a.authority) - order.indexOf(b.authority));
    const result = combineSigners(policy, outcomes);
    if (!result.ok || policy.attestations.length === 0) return result;
    // Signed off: now the attestations (their conditions are the rule's, at request time).
    stage = `reading attestations from registry ${image.registry}`;
    const attestations = located
      ? await gatherAttestations(policy, located.keys, located.found, located.where)
      : policy.attestations.map((a) => ({ name: a.name, found: [], problems: ['no key to verify it with'] }));
    if (signal.aborted) return timedOut(signal, stage);
    return { ...result, attestations };
  }

  const verify = async (task: VerificationTask, signal: AbortSignal) =>
    check(task, await material(task, signal), signal);
  return Object.assign(verify, { material, check });
}
