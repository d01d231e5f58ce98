// The attestations an ImagePolicy asks for, found and verified (the shell's part):
// statements in sigstore bundles (already located with the signatures: cosign v3 keeps
// attestations as bundle referrers too) and DSSE envelopes at the legacy `.att` tag,
// each verified by the authorities (keys, keyless identities) the attestation trusts, then checked to be of its
// predicate type and about this digest. The conditions on the predicate are judged by
// the pure rule (rules/images/attestations.ts), at the request's time.

import type { AttestationFact } from '../decision/facts.ts';
import type { CompiledImagePolicy } from '../policy/compiled.ts';
import { checkAttestation } from '../rules/images/cosign/attestation.ts';
import type { EnvelopeCheck } from '../rules/images/cosign/bundle.ts';
import type { SignatureJudge } from './judges.ts';
import { locateLegacyAttestations, type FoundSignatures, type Where } from './locate.ts';

interface Envelope {
  via: string;
  problem?: string;
  /** The predicate type it claims, read before verifying: only to skip other kinds (signatures) cheaply. */
  claims: unknown;
  verify(judge: SignatureJudge): EnvelopeCheck;
}

function claimedType(payloadBase64: unknown): unknown {
  if (typeof payloadBase64 !== 'string') return undefined;
  try {
    return (JSON.parse(Buffer.from(payloadBase64, 'base64').toString('utf8')) as { predicateType?: unknown })
      ?.predicateType;
  } catch {
    return undefined;
  }
}

/** Every attestation of the policy, for one digest whose signatures were located as `found`. */
export async function gatherAttestations(
  policy: CompiledImagePolicy,
  judges: ReadonlyMap<string, SignatureJudge>,
  found: FoundSignatures,
  where: Where,
): Promise<AttestationFact[]> {
  if (policy.attestations.length === 0) return [];
  const legacy = await locateLegacyAttestations(where);
  const envelopes: Envelope[] = [];
  const trouble: string[] = [];
  if (found.bundles.ok)
    for (const c of found.bundles.candidates)
      envelopes.push({
        via: c.via,
        ...(c.problem ? { problem: c.problem } : {}),
        claims: claimedType((c.json as { dsseEnvelope?: { payload?: unknown } } | undefined)?.dsseEnvelope?.payload),
        verify: (judge) => judge.bundleEnvelope(c.json),
      });
  else trouble.push(found.bundles.error.message);
  if (legacy.ok)
    for (const c of legacy.candidates)
      envelopes.push({
        via: c.via,
        ...(c.problem ? { problem: c.problem } : {}),
        claims: claimedType((c.json as { payload?: unknown } | undefined)?.payload),
        verify: (judge) => judge.dsseEnvelope(c.json, c.annotations),
      });
  else trouble.push(legacy.error.message);

  return policy.attestations.map((attestation): AttestationFact => {
    const found: AttestationFact['found'][number][] = [];
    const problems = [...trouble];
    for (const envelope of envelopes) {
      if (envelope.claims !== attestation.predicateType && !envelope.problem) continue;
      if (envelope.problem) {
        problems.push(`${envelope.problem} (${envelope.via})`);
        continue;
      }
      const failures: string[] = [];
      let counted = false;
      for (const name of attestation.authorities) {
        const judge = judges.get(name);
        if (!judge) continue;
        const verified = envelope.verify(judge);
        if (verified.outcome !== 'ok') {
          failures.push(`${name}: ${verified.reason}`);
          continue;
        }
        const checked = checkAttestation(
          verified.payloadType,
          verified.payload,
          where.digest,
          attestation.predicateType,
        );
        // Another predicate type (a signature, another attestation) is not this one: no problem to report.
        if (checked.outcome === 'other-type') counted = true;
        else if (checked.outcome === 'wrong-digest')
          problems.push(`${checked.reason} (${envelope.via}, signed by ${name})`);
        else {
          // A keyless signer is named by authority and identity: who signed off matters to the reader.
          const who = verified.signer ? `${name} (${verified.signer.subject})` : name;
          found.push({ signer: who, predicate: checked.predicate, via: envelope.via });
        }
        counted = true;
        break;
      }
      if (!counted && failures.length > 0) problems.push(`${envelope.via}: ${failures.join('; ')}`);
    }
    return { name: attestation.name, found, problems };
  });
}
