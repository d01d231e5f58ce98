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

import type { ReadSecret } from '../cluster/secrets.ts';
import { isBulwarkError } from '../errors.ts';
import { DEFAULT_LOCK_LABEL } from '../policy/builtin.ts';
import type { LockLabel } from '../policy/compiled.ts';
import { createRegistryClient, type RegistryClient } from '../registry/client.ts';
import type { KeylessSigner } from '../rules/images/cosign/keyless.ts';
import { keylessSignerKey } from '../rules/images/cosign/names.ts';
import { legacySignatureTag, type SignatureCheck } from '../rules/images/cosign/legacy.ts';
import type { SignatureJudge } from './judges.ts';
import { combineSigners, thresholdMet, type AuthorityOutcome } from '../rules/images/threshold.ts';
import { locateSignatures, type FoundSignatures, type Where } from './locate.ts';
import { hintOf, resolveMaterial, type VerificationMaterial } from './material.ts';
import type { ReadConfigMap } from './trusted-root.ts';
import type { VerificationFailure, VerificationResult } from '../decision/facts.ts';
import type { VerificationTask, Verifier } from '../rules/images/verification.ts';

export interface CreateVerifierOptions {
  /** Shared so connections and tokens are reused; a new client by default. */
  registry?: RegistryClient;
  /** Reads key and credential Secrets (cluster/secrets.ts); without it secretRefs are configuration failures. */
  readSecret?: ReadSecret;
  /** Reads the ConfigMaps holding keyless authorities' trusted roots; without it those are configuration failures. */
  readConfigMap?: ReadConfigMap;
  /** The lock label a key Secret or trusted-root ConfigMap must carry; default bulwark.dev/immutable=true. */
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

type Judged =
  | { ok: true; detail: string; signer?: KeylessSigner }
  | { ok: false; failure: VerificationFailure; reason: string };

/**
 * One authority against every located signature. A keyless authority may accept several
 * identities: the signature of one not yet counted for another authority is preferred
 * (`counted`), so that alice signing for one authority does not hide bob's for another.
 */
function judge(found: FoundSignatures, by: SignatureJudge, digest: string, counted: ReadonlySet<string>): Judged {
  const checks: (SignatureCheck & { where: string; signer?: KeylessSigner })[] = [];
  if (found.legacy.ok) {
    for (const c of found.legacy.candidates)
      checks.push({ ...by.legacy(c), where: `tag ${legacySignatureTag(digest)}` });
  }
  if (found.bundles.ok) {
    for (const c of found.bundles.candidates) {
      const check = c.problem ? { outcome: 'not-genuine' as const, reason: c.problem } : by.bundle(c.json);
      checks.push({ ...check, where: c.via });
    }
  }
  const goods = checks.filter((c) => c.outcome === 'ok');
  const good = goods.find((c) => !c.signer || !counted.has(keylessSignerKey(c.signer))) ?? goods[0];
  if (good && good.outcome === 'ok')
    return { ok: true, detail: `${good.detail} (${good.where})`, ...(good.signer ? { signer: good.signer } : {}) };
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
  const { readSecret, readConfigMap } = options;
  const lockLabel = options.lockLabel ?? DEFAULT_LOCK_LABEL;

  const material = (task: VerificationTask, signal: AbortSignal) =>
    resolveMaterial(task, readSecret, lockLabel, signal, readConfigMap);

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
    let located: { found: FoundSignatures; judges: Map<string, SignatureJudge>; where: Where } | undefined;
    const usable: { authority: string; judge: SignatureJudge; signer?: string }[] = [];
    const unusable = (authority: string, problem: string) =>
      outcomes.push({ authority, ok: false, failure: 'configuration', reason: problem });
    // The sigstore libraries (about 10 MB) load here, at the first verification, not at start.
    const judges = resolved.keys.length + resolved.roots.length > 0 ? await import('./judges.ts') : undefined;
    for (const { authority, key } of resolved.keys) {
      if ('problem' in key) unusable(authority.name, key.problem);
      else if ('problem' in access) unusable(authority.name, access.problem);
      else
        usable.push({ authority: authority.name, judge: judges!.keyJudge(key.key, digest), signer: hintOf(key.key) });
    }
    for (const { authority, root } of resolved.roots) {
      if ('problem' in root) unusable(authority.name, root.problem);
      else if ('problem' in access) unusable(authority.name, access.problem);
      else {
        const rootName = `ConfigMap ${authority.trustedRootRef.namespace}/${authority.trustedRootRef.name}`;
        const trust = { material: root.material, identities: authority.identities, rootName };
        usable.push({ authority: authority.name, judge: judges!.keylessJudge(trust, digest) });
      }
    }
    if (usable.length > 0 && !('problem' in access) && !signal.aborted) {
      stage = `waiting for registry ${image.registry}`;
      const where = { client, access, repository: image.repository, digest, signal };
      const found = await locateSignatures(where);
      located = { found, where, judges: new Map(usable.map((u) => [u.authority, u.judge])) };
      // Every authority is judged against the same signatures (no more registry work), so
      // that a threshold counts every signer and a denial names each one that is missing.
      // A key is its own signer; a keyless authority's signer is the identity that signed.
      const counted = new Set<string>();
      for (const u of usable) {
        const verdict = judge(found, u.judge, digest, counted);
        const signer = verdict.ok && verdict.signer ? keylessSignerKey(verdict.signer) : u.signer;
        if (verdict.ok && signer) counted.add(signer);
        outcomes.push(
          verdict.ok
            ? { authority: u.authority, ok: true, detail: verdict.detail, ...(signer ? { signer } : {}) }
            : { authority: u.authority, ok: false, failure: verdict.failure, reason: verdict.reason },
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
      ? await (await import('./attest.ts')).gatherAttestations(policy, located.judges, located.found, located.where)
      : policy.attestations.map((a) => ({
          name: a.name,
          found: [],
          problems: ['no key or trusted root to verify it with'],
        }));
    if (signal.aborted) return timedOut(signal, stage);
    return { ...result, attestations };
  }

  const verify = async (task: VerificationTask, signal: AbortSignal) =>
    check(task, await material(task, signal), signal);
  return Object.assign(verify, { material, check });
}
