// The drift audit's action on one object, for a scan and a watch event alike: judge it
// against its seal (rules/ledger/audit.ts, pure) and do what that says: write the first
// seal (with who locked it, consuming the attribution record it came from) or a re-seal
// after an approved unlock (consuming the records of the changes Bulwark admitted under it),
// release the seal of an object an unlock let go, or return the drift. Seals are written
// read-modify-write: the auditor runs one of these at a time.

import type { KubeObject } from '../admission/types.ts';
import type { AttestationKeyRing } from '../attestation/keys.ts';
import { SEALS_PATH, signSeal, type SealSpec, type SealTarget } from '../attestation/seal.ts';
import type { ClusterInformers } from '../cluster/policy-informers.ts';
import type { Logger } from '../observability/logger.ts';
import type { PolicySnapshot } from '../policy/compiled.ts';
import { auditObject } from '../rules/ledger/audit.ts';
import type { AttributionLookup } from '../rules/ledger/locked-by.ts';
import type { UnlockedChangeLookup } from '../rules/ledger/unlocked-changes.ts';
import type { Settled, StoredSeal } from './events.ts';

export interface Context {
  snapshot: PolicySnapshot;
  keys: AttestationKeyRing;
  now: number;
  /** The lock attributions, read once per context when a first seal needs them. */
  attributions: () => Promise<AttributionLookup>;
  /** The records of changes admitted under unlocks, read once per context when a change under an unlock needs them. */
  unlockedChanges: () => Promise<UnlockedChangeLookup>;
}

export interface SettlerOptions {
  call: (method: string, path: string, body?: unknown) => Promise<{ status: number }>;
  informers: Pick<ClusterInformers, 'unlocksFor' | 'namespaceLabels'>;
  /** Each sealed object's current hash, by uid: kept up to date here. */
  sealedHashes: Map<string, string>;
  /** Deletes the attribution record a first seal was made from. */
  consume: (requestUid: string) => Promise<void>;
  /** Deletes the records of admitted changes a re-seal was made from. */
  consumeChanges: (requestUid: string) => Promise<void>;
  logger: Logger;
}

export function createSettler(options: SettlerOptions) {
  const { call, informers, sealedHashes, logger } = options;

  async function writeSeal(name: string, seal: SealSpec, existing: StoredSeal | undefined): Promise<boolean> {
    const resourceVersion = existing?.metadata?.resourceVersion;
    const body = {
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'Seal',
      metadata: { name, ...(resourceVersion ? { resourceVersion } : {}) },
      spec: seal,
    };
    const r = existing ? await call('PUT', `${SEALS_PATH}/${name}`, body) : await call('POST', SEALS_PATH, body);
    if (r.status >= 300) logger.warn({ seal: name, status: r.status }, 'audit: cannot write a seal');
    return r.status < 300;
  }

  /** Judges one object against its seal and acts on it: writes the seal, releases it, or returns the drift. */
  return async function settle(
    ctx: Context,
    uid: string,
    target: SealTarget,
    object: KubeObject | undefined,
    stored: StoredSeal | undefined,
  ): Promise<Settled> {
    const input = {
      target,
      ...(object ? { object } : {}),
      ...(stored ? { seal: stored.spec } : {}),
      snapshot: ctx.snapshot,
      keys: ctx.keys,
      unlocks: informers.unlocksFor(target.namespace, target.name),
      ...(target.namespace ? { namespaceLabels: informers.namespaceLabels(target.namespace) ?? {} } : {}),
      ...(object && !stored ? { attributions: await ctx.attributions() } : {}),
      now: ctx.now,
    };
    let outcome = auditObject(input);
    // The records are read only when a change under an unlock in force needs them (rare).
    if (outcome.kind === 'drift' && outcome.reason === 'changed-outside-unlock')
      outcome = auditObject({ ...input, unlockedChanges: await ctx.unlockedChanges() });
    if (outcome.kind === 'in-order') {
      if (object && stored) sealedHashes.set(uid, stored.spec.current.hash);
      return object ? 'in-order' : 'absent';
    }
    if (outcome.kind === 'seal') {
      const seal = signSeal(ctx.keys, outcome.seal);
      const written = await writeSeal(uid, seal, stored);
      sealedHashes.set(uid, seal.current.hash);
      const used = outcome.seal.lockedBy?.requestUid;
      if (written && !stored && used) await options.consume(used);
      if (written) for (const spent of outcome.seal.current.records ?? []) await options.consumeChanges(spent);
      return 'written';
    }
    sealedHashes.delete(uid);
    if (outcome.kind === 'release') {
      await call('DELETE', `${SEALS_PATH}/${uid}`);
      return 'released';
    }
    return { target, reason: outcome.reason, message: outcome.message };
  };
}
