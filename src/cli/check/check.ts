// `bulwark check`: would applying these manifests be allowed? Each manifest is laid over
// the object the snapshot holds (as an apply would: maps merged, lists and values
// replaced) and the resulting UPDATE, or a CREATE for an object the snapshot lacks, is
// decided by review/decide.ts, the webhook's runner. With the manifests before the change
// (`--base`), an object the base has and the new set lacks is a DELETE, as a GitOps
// prune would send it (removals.ts). A denied change of a locked object comes with the
// `kubectl bulwark unlock request` command it needs: for an UPDATE bound to exactly the
// JSON Patch that makes it.

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import jsonPatch from 'fast-json-patch';
import type { KubeObject } from '../../admission/types.ts';
import { BaseError } from '../../errors.ts';
import { cloneJson } from '../../json/clone.ts';
import { decide, type FactResolver } from '../../review/decide.ts';
import { reviewFromManifests } from '../../review/from-manifests.ts';
import type { PolicySnapshot } from '../../policy/compiled.ts';
import { applicablePolicies } from '../../rules/immutability/governing.ts';
import { describeApprovers } from '../../rules/unlock/approvals.ts';
import { readYamlFile } from '../read-yaml.ts';
import { lockedContentsOf, removedFrom } from './removals.ts';
import { identityOf, type LoadedSnapshot } from './snapshot.ts';

export interface Manifest {
  object: KubeObject;
  /** `file.yaml` or `file.yaml#2`. */
  where: string;
}

export interface CheckResult {
  where: string;
  /** `ConfigMap shop/app-config`. */
  target: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  allowed: boolean;
  locked: boolean;
  message?: string;
  warnings: string[];
  /** For a denied UPDATE of a locked object: the patch; for a denied UPDATE or DELETE, the command that asks for it. */
  patch?: jsonPatch.Operation[];
  /** What the UnlockRequest needs: `2 approvals from platform-leads (ImmutabilityPolicy x), at most 2h`. */
  unlockNeeds?: string;
  unlockCommand?: string;
}

/** The approvals the policies governing `live` ask of an unlock (the strictest wins, as the webhook decides). */
function unlockNeeds(policies: PolicySnapshot, live: KubeObject, namespaceLabels: Record<string, string> | undefined) {
  const { group, kind, namespace } = identityOf(live);
  const governing = applicablePolicies(policies, {
    group,
    kind,
    ...(namespace ? { namespace } : {}),
    objectLabels: live.metadata?.labels ?? {},
    namespaceLabels,
  });
  return governing
    .map((p) => {
      const hours = p.unlock.maxDurationMs / 3_600_000;
      const approvals = `${p.unlock.approvalsRequired} approval${p.unlock.approvalsRequired === 1 ? '' : 's'}`;
      return `${approvals} from ${describeApprovers(p.unlock)} (ImmutabilityPolicy ${p.name}), at most ${hours}h`;
    })
    .join('; and ');
}

async function manifestFiles(path: string): Promise<string[]> {
  if (path === '-') return [path];
  const info = await stat(path).catch((err: unknown) => {
    throw new BaseError('CLI_USAGE', `cannot read ${path}: ${(err as Error).message}`);
  });
  if (!info.isDirectory()) return [path];
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.(ya?ml|json)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export async function readManifests(paths: readonly string[]): Promise<Manifest[]> {
  const manifests: Manifest[] = [];
  for (const path of paths) {
    for (const file of await manifestFiles(path)) {
      const docs = await readYamlFile(file);
      docs.forEach((doc, i) => {
        const where = docs.length > 1 ? `${file}#${i + 1}` : file;
        const object = doc as KubeObject;
        const items = object.kind === 'List' && Array.isArray(object.items) ? (object.items as KubeObject[]) : [object];
        for (const item of items) {
          if (!item.apiVersion || !item.kind || !item.metadata?.name)
            throw new BaseError('CLI_USAGE', `${where}: a manifest needs apiVersion, kind and metadata.name`);
          manifests.push({ object: item, where });
        }
      });
    }
  }
  return manifests;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What an apply of `manifest` makes of `live`: maps merged key by key, everything else replaced. */
export function applied(live: KubeObject, manifest: KubeObject): KubeObject {
  const merge = (base: unknown, over: unknown): unknown => {
    if (!isMap(base) || !isMap(over)) return cloneJson(over);
    const out: Record<string, unknown> = cloneJson(base);
    for (const [k, v] of Object.entries(over)) out[k] = v === null ? undefined : merge(base[k], v);
    return JSON.parse(JSON.stringify(out)) as unknown;
  };
  return merge(live, manifest) as KubeObject;
}

const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

function unlockCommand(live: KubeObject, patch: jsonPatch.Operation[] | undefined): string {
  const { namespace, name } = live.metadata ?? {};
  const group = identityOf(live).group;
  const kind = `${(live.kind ?? '').toLowerCase()}${group ? `.${group}` : ''}`;
  return (
    `kubectl bulwark unlock request ${kind}/${name}${namespace ? ` -n ${namespace}` : ''} ` +
    `--operation ${patch ? 'UPDATE' : 'DELETE'} --reason ${shellQuote('TODO: why this change is needed')}` +
    (patch ? ` --patch ${shellQuote(JSON.stringify(patch))}` : '')
  );
}

export interface CheckOptions {
  defaultNamespace: string;
  nowMs: number;
  /** The manifests before the change: what they have and the new set lacks is deleted. */
  base?: readonly Manifest[];
  /** Adds image facts (signatures from a registry or an OCI layout); without it images are not verified. */
  withImages?: (base: FactResolver) => FactResolver;
}

export async function checkManifests(
  manifests: readonly Manifest[],
  snapshot: LoadedSnapshot,
  options: CheckOptions,
): Promise<CheckResult[]> {
  const policies = snapshot.store.snapshot();
  const label = policies.lockLabel;
  const results: CheckResult[] = [];
  const namespaced = (object: KubeObject) => {
    const identity = identityOf(object);
    return { ...identity, namespace: identity.namespace ?? options.defaultNamespace };
  };
  const liveOf = (object: KubeObject) => {
    const identity = identityOf(object);
    return snapshot.find(namespaced(object)) ?? (identity.namespace ? undefined : snapshot.find(identity));
  };
  const judge = async (where: string, live: KubeObject | undefined, written: KubeObject | undefined) => {
    const review = reviewFromManifests({
      ...(live ? { oldObject: live } : {}),
      ...(written ? { object: written } : {}),
      user: 'bulwark-check',
    });
    const { request } = review;
    const namespace = request.namespace;
    const namespaceLabels = namespace ? snapshot.namespaces[namespace] : undefined;
    const facts: FactResolver = async () => ({
      now: options.nowMs,
      unlocks: snapshot.unlocks,
      ...(namespaceLabels ? { namespaceLabels } : {}),
      ...(request.operation === 'DELETE' ? { lockedContents: lockedContentsOf(live!, snapshot.objects) } : {}),
    });
    const resolveFacts = options.withImages ? options.withImages(facts) : facts;
    const { review: answer } = await decide(review, { snapshot: () => policies, resolveFacts });
    const { allowed, status, warnings = [] } = answer.response;
    const shown = (written ?? live)!;
    const locked = live?.metadata?.labels?.[label.key] === label.value;
    const result: CheckResult = {
      where,
      target: `${shown.kind} ${namespace && shown.kind !== 'Namespace' ? `${namespace}/` : ''}${request.name}`,
      operation: request.operation as CheckResult['operation'],
      allowed,
      locked,
      ...(status?.message ? { message: status.message } : {}),
      warnings,
    };
    if (!allowed && live && locked) {
      if (written) result.patch = jsonPatch.compare(live, written);
      result.unlockNeeds = unlockNeeds(policies, live, namespaceLabels);
      result.unlockCommand = unlockCommand(live, result.patch);
    }
    results.push(result);
  };
  for (const { object, where } of manifests) {
    const live = liveOf(object);
    const namespace = namespaced(object).namespace;
    await judge(where, live, live ? applied(live, object) : applied(object, { metadata: { namespace } }));
  }
  for (const { object, where } of removedFrom(options.base ?? [], manifests, options.defaultNamespace)) {
    const live = liveOf(object) ?? applied(object, { metadata: { namespace: namespaced(object).namespace } });
    await judge(where, live, undefined);
  }
  return results;
}
