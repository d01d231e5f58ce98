// A cluster snapshot: what `bulwark check` needs to know about a cluster to decide a
// change offline, written by `bulwark snapshot` (or taken live with `check --cluster`).
// Format (YAML or JSON):
//
//   apiVersion: cli.bulwark.dev/v1alpha1
//   kind: ClusterSnapshot
//   takenAt: RFC 3339 time; unlock expiries are judged at it unless --now says otherwise
//   lockLabel: { key, value }                 the label Bulwark locks by
//   policies: [ImmutabilityPolicy | ImagePolicy objects]
//   unlocks: [UnlockRequest objects]
//   namespaces: { NAME: { LABEL: VALUE } }    namespace labels, for namespaceSelector policies
//   objects: [every locked object, in full; one nested too deep for YAML keeps only its
//             identity, annotated cli.bulwark.dev/content-omitted (snapshot-depth.ts)]

import type { KubeObject } from '../../admission/types.ts';
import { BaseError, formatProblems, type FieldProblem } from '../../errors.ts';
import type { CompiledUnlock } from '../../policy/compile-unlock.ts';
import type { PolicyCompiler } from '../../policy/compiler.ts';
import { POLICY_KINDS, type PolicyKind } from '../../policy/crds.ts';
import { PolicyStore } from '../../policy/store.ts';
import { readYamlFile } from '../read-yaml.ts';
import type { LockLabel } from '../../policy/compiled.ts';
import { ATTESTATION_ASSUMED } from '../../attestation/approval.ts';

export const SNAPSHOT_API_VERSION = 'cli.bulwark.dev/v1alpha1';

export interface ClusterSnapshot {
  apiVersion: typeof SNAPSHOT_API_VERSION;
  kind: 'ClusterSnapshot';
  takenAt: string;
  lockLabel: LockLabel;
  policies: KubeObject[];
  unlocks: KubeObject[];
  namespaces: Record<string, Record<string, string>>;
  objects: KubeObject[];
}

/** A snapshot ready to decide with: policies compiled once, objects indexed by identity. */
export interface LoadedSnapshot {
  store: PolicyStore;
  unlocks: readonly CompiledUnlock[];
  namespaces: Readonly<Record<string, Record<string, string>>>;
  takenAtMs: number;
  /** Every locked object. */
  objects: readonly KubeObject[];
  find(identity: ObjectIdentity): KubeObject | undefined;
}

export interface ObjectIdentity {
  group: string;
  kind: string;
  namespace?: string;
  name: string;
}

export const groupOfApiVersion = (apiVersion: string | undefined) =>
  apiVersion?.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';

export function identityOf(object: KubeObject): ObjectIdentity {
  const namespace = object.metadata?.namespace;
  return {
    group: groupOfApiVersion(object.apiVersion),
    kind: object.kind ?? '',
    ...(namespace ? { namespace } : {}),
    name: object.metadata?.name ?? '',
  };
}

const keyOf = (i: ObjectIdentity) => `${i.group}/${i.kind}/${i.namespace ?? ''}/${i.name}`;

function shapeProblems(raw: unknown): FieldProblem[] {
  const s = raw as Partial<ClusterSnapshot> | null;
  if (typeof s !== 'object' || s === null) return [{ path: '', message: 'is not a ClusterSnapshot' }];
  const problems: FieldProblem[] = [];
  if (s.apiVersion !== SNAPSHOT_API_VERSION)
    problems.push({ path: 'apiVersion', message: `must be ${SNAPSHOT_API_VERSION}` });
  if (s.kind !== 'ClusterSnapshot') problems.push({ path: 'kind', message: 'must be ClusterSnapshot' });
  if (typeof s.takenAt !== 'string' || Number.isNaN(Date.parse(s.takenAt)))
    problems.push({ path: 'takenAt', message: 'must be an RFC 3339 time' });
  if (typeof s.lockLabel?.key !== 'string' || typeof s.lockLabel.value !== 'string')
    problems.push({ path: 'lockLabel', message: 'must have a key and a value' });
  for (const field of ['policies', 'unlocks', 'objects'] as const)
    if (!Array.isArray(s[field])) problems.push({ path: field, message: 'must be a list' });
  if (typeof s.namespaces !== 'object' || s.namespaces === null)
    problems.push({ path: 'namespaces', message: 'must be a map of namespace labels' });
  return problems;
}

export function loadSnapshot(raw: unknown, compiler: PolicyCompiler, where: string): LoadedSnapshot {
  const problems = shapeProblems(raw);
  if (problems.length > 0) throw new BaseError('CLI_USAGE', `${where}: ${formatProblems(problems)}`, { problems });
  const snapshot = raw as ClusterSnapshot;
  const store = new PolicyStore({
    compiler,
    lockLabel: snapshot.lockLabel,
    sources: [],
    attestation: ATTESTATION_ASSUMED,
  });
  snapshot.policies.forEach((policy, i) => {
    const kind = policy.kind as PolicyKind;
    if (!(kind in POLICY_KINDS)) throw new BaseError('CLI_USAGE', `${where}: policies[${i}]: not a Bulwark policy`);
    const found = store.upsert(kind, policy);
    if (found.length > 0) throw new BaseError('CLI_USAGE', `${where}: policies[${i}]: ${formatProblems(found)}`);
  });
  store.markSynced('snapshot');
  const unlocks = snapshot.unlocks.flatMap((u) => {
    const compiled = compiler.unlock(u);
    return compiled.ok ? [compiled.unlock] : []; // an invalid UnlockRequest unlocks nothing, in the cluster too
  });
  const index = new Map(snapshot.objects.map((o) => [keyOf(identityOf(o)), o]));
  return {
    store,
    unlocks,
    namespaces: snapshot.namespaces,
    takenAtMs: Date.parse(snapshot.takenAt),
    objects: snapshot.objects,
    find: (identity) => index.get(keyOf(identity)),
  };
}

export async function readSnapshotFile(file: string, compiler: PolicyCompiler): Promise<LoadedSnapshot> {
  const [raw, ...more] = await readYamlFile(file);
  if (more.length > 0) throw new BaseError('CLI_USAGE', `${file}: a snapshot is one document`);
  return loadSnapshot(raw, compiler, file);
}
