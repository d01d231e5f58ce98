// ImmutabilityPolicy object -> compiled policy, or every problem with its field path.
// Runs when a policy changes (informer event, file load, admission of the policy
// itself), never on the request path.

import type { FieldProblem } from '../errors.ts';
import { isValidPointer } from '../diff/pointer.ts';
import type { CompiledImmutabilityPolicy, LockedOperation, PolicySource } from './compiled.ts';
import { parseDuration } from './duration.ts';
import type { ImmutabilityPolicy } from './generated/types.ts';
import { checkNamespaceMatch, compileNamespaceMatch } from './namespace-match.ts';
import type { CrdValidator } from './schemas.ts';
import { checkSelector, compileSelector } from './selector.ts';
import { cloneJson } from '../json/clone.ts';

export type CompileResult<T> = { ok: true; policy: T } | { ok: false; problems: FieldProblem[]; source: PolicySource };

export function sourceOf(object: {
  metadata?: { name?: string; uid?: string; resourceVersion?: string; generation?: number };
}): PolicySource {
  const m = object.metadata ?? {};
  return {
    name: m.name ?? '(unnamed)',
    uid: m.uid ?? `name:${m.name ?? ''}`,
    resourceVersion: m.resourceVersion ?? '',
    generation: m.generation ?? 0,
  };
}

const NAME_THEM = 'name the specific labels or annotations instead';

function checkMeaning(policy: ImmutabilityPolicy): FieldProblem[] {
  const { spec } = policy;
  const problems: FieldProblem[] = [];
  problems.push(...checkNamespaceMatch(spec.match, 'spec.match'));
  problems.push(...checkSelector(spec.match?.objectSelector, 'spec.match.objectSelector'));
  (spec.allowedChanges ?? []).forEach((pointer, i) => {
    if (!isValidPointer(pointer) || pointer === '') {
      problems.push({
        path: `spec.allowedChanges[${i}]`,
        message:
          `${JSON.stringify(pointer)} is not a JSON Pointer to a field (it must start with "/", e.g. ` +
          `/spec/replicas; escape "/" in keys as ~1)`,
      });
    } else if (pointer === '/metadata' || pointer === '/metadata/labels') {
      problems.push({
        path: `spec.allowedChanges[${i}]`,
        message: `${pointer} would let the lock label itself be removed; ${NAME_THEM}`,
      });
    }
  });
  const ops = spec.operations ?? [];
  if (new Set(ops).size !== ops.length) problems.push({ path: 'spec.operations', message: 'lists an operation twice' });
  if (spec.unlock?.maxDuration !== undefined && !parseDuration(spec.unlock.maxDuration)) {
    problems.push({
      path: 'spec.unlock.maxDuration',
      message: `${JSON.stringify(spec.unlock.maxDuration)} is not a duration such as 30m or 4h`,
    });
  }
  return problems;
}

/** Names without wildcards can be looked up directly; a single glob needs a scan. */
function literalNamespaces(namespaces: string[] | undefined): boolean {
  return namespaces !== undefined && namespaces.length > 0 && namespaces.every((ns) => !/[*?]/.test(ns));
}

/** `validate` is the ImmutabilityPolicy CRD's validator (see schemas.ts; policy/compiler.ts binds it). */
export function compileImmutabilityPolicy(
  raw: unknown,
  validate: CrdValidator,
): CompileResult<CompiledImmutabilityPolicy> {
  const object = cloneJson(raw) as ImmutabilityPolicy;
  const source = sourceOf(object ?? {});
  const schemaProblems = validate(object);
  if (schemaProblems.length > 0) return { ok: false, problems: schemaProblems, source };
  const problems = checkMeaning(object);
  if (problems.length > 0) return { ok: false, problems, source };

  const { spec } = object;
  const resources = (spec.match?.resources ?? []).flatMap((r) => {
    const groups = r.apiGroups && r.apiGroups.length > 0 ? r.apiGroups : ['*'];
    return groups.flatMap((group) => r.kinds.map((kind) => ({ group, kind })));
  });
  const namespaceMatch = compileNamespaceMatch(spec.match);
  const objectMatch = compileSelector(spec.match?.objectSelector);
  const exempt = spec.exemptSubjects ?? {};
  const policy: CompiledImmutabilityPolicy = {
    ...source,
    resources: resources.length > 0 ? resources : [{ group: '*', kind: '*' }],
    ...(literalNamespaces(spec.match?.namespaces) ? { indexNamespaces: spec.match!.namespaces! } : {}),
    operations: new Set((spec.operations ?? ['UPDATE', 'DELETE']) as LockedOperation[]),
    allowedPaths: [...(spec.allowedChanges ?? [])],
    enforcement: spec.enforcement ?? 'Enforce',
    ...(spec.message ? { message: spec.message } : {}),
    exempt: {
      users: new Set([
        ...(exempt.users ?? []),
        ...(exempt.serviceAccounts ?? []).map((sa) => `system:serviceaccount:${sa.namespace}:${sa.name}`),
      ]),
      groups: new Set(exempt.groups ?? []),
    },
    unlock: {
      approvalsRequired: spec.unlock?.approvalsRequired ?? 2,
      ...(spec.unlock?.rollbackApprovals !== undefined ? { rollbackApprovals: spec.unlock.rollbackApprovals } : {}),
      approverGroups: new Set(spec.unlock?.approverGroups ?? []),
      maxDurationMs: parseDuration(spec.unlock?.maxDuration ?? '1h') ?? 3_600_000,
      ...(spec.unlock?.emergency
        ? {
            emergency: {
              approvalsRequired: spec.unlock.emergency.approvalsRequired ?? 1,
              selfApproval: spec.unlock.emergency.selfApproval ?? false,
              maxDurationMs: parseDuration(spec.unlock.emergency.maxDuration ?? '15m') ?? 900_000,
              reviewsRequired: spec.unlock.emergency.reviewsRequired ?? 2,
              reviewWithinMs: parseDuration(spec.unlock.emergency.reviewWithin ?? '24h') ?? 86_400_000,
            },
          }
        : {}),
      ...(spec.unlock?.requesterOnly
        ? {
            requesterOnly: {
              users: new Set(spec.unlock.usableBy?.users ?? []),
              groups: new Set(spec.unlock.usableBy?.groups ?? []),
            },
          }
        : {}),
    },
    match(target) {
      if (!objectMatch(target.objectLabels)) return 'no-match';
      return namespaceMatch(target.namespace, target.namespaceLabels);
    },
  };
  return { ok: true, policy: Object.freeze(policy) };
}
