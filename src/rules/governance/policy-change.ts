// A policy write that loosens existing protection needs agreement (pure). For an
// ImmutabilityPolicy: each locked object it could govern (listed by the shell) is given
// its governing set with the old version and with the new one, and the change loosens when
// the new set is not at least as strict (policy/strictness.ts). For an ImagePolicy, which
// guards images not yet admitted, any loosening of the policy itself counts. Tightening,
// and changes that loosen nothing locked, are always allowed. A stored policy that is
// invalid never protected anything as written, so replacing or deleting it loosens nothing.

import type { AdmissionRequest } from '../../admission/types.ts';
import type { LockedObject, RequestFacts } from '../../decision/facts.ts';
import { allow, deny, type Verdict } from '../../decision/verdict.ts';
import type {
  CompiledImagePolicy,
  CompiledImmutabilityPolicy,
  MatchTarget,
  PolicySnapshot,
} from '../../policy/compiled.ts';
import type { PolicyCompiler } from '../../policy/compiler.ts';
import { POLICY_GROUP } from '../../policy/crds.ts';
import type { ImagePolicy } from '../../policy/generated/types.ts';
import { imageLooseningsOf, imagePolicyDenies, matchNarrowed } from '../../policy/image-strictness.ts';
import { dominates, immutabilityLoosenings } from '../../policy/strictness.ts';
import { isDeepStrictEqual } from 'node:util';
import { governingAmong } from '../immutability/governing.ts';
import { isPolicyAdmin, isPolicyWrite } from './authorship.ts';
import { requireAgreement } from './agreement.ts';

export const RULE = 'policy-governance';

type Versions<T> = { before?: T; after?: T };

function versions<T>(
  request: AdmissionRequest,
  compile: (o: unknown) => { ok: true; policy: T } | { ok: false },
): Versions<T> {
  const of = (o: unknown) => {
    if (!o) return undefined;
    const r = compile(o);
    return r.ok ? r.policy : undefined;
  };
  return {
    ...(request.operation !== 'CREATE' ? { before: of(request.oldObject) } : {}),
    ...(request.operation !== 'DELETE' ? { after: of(request.object) } : {}),
  } as Versions<T>;
}

const immutabilityVersions = (r: AdmissionRequest, compiler: PolicyCompiler) =>
  versions<CompiledImmutabilityPolicy>(r, (o) =>
    compiler.immutability({ ...(o as object), kind: 'ImmutabilityPolicy' }),
  );

/**
 * Whether an ImmutabilityPolicy write could loosen any lock at all, before looking at
 * which objects exist: the shell lists locked objects only when it could. A new policy
 * only joins the sets it matches, or replaces the built-in default: if it is as strict
 * as the default, nothing can loosen.
 */
export function mayLoosenLocks(
  request: AdmissionRequest,
  snapshot: Pick<PolicySnapshot, 'compiler' | 'defaultImmutability'>,
): boolean {
  const fallback = snapshot.defaultImmutability;
  const { before, after } = immutabilityVersions(request, snapshot.compiler);
  if (request.operation !== 'DELETE' && !after) return false; // invalid: policy validation refuses it
  if (!before) return after !== undefined && !dominates(after, fallback);
  if (!after) return before.enforcement === 'Enforce';
  const matchOf = (o: unknown) => (o as { spec?: { match?: unknown } } | null | undefined)?.spec?.match;
  return !dominates(after, before) || !isDeepStrictEqual(matchOf(request.oldObject), matchOf(request.object));
}

function describeObject(o: LockedObject): string {
  return `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
}

function immutabilityExposures(
  request: AdmissionRequest,
  snapshot: PolicySnapshot,
  facts: RequestFacts,
): string[] | { unavailable: string } {
  if (!mayLoosenLocks(request, snapshot)) return [];
  const exposed = facts.exposed;
  if (!exposed || exposed.status === 'unavailable')
    return {
      unavailable:
        exposed?.status === 'unavailable' ? exposed.reason : 'the locked objects it could govern were not looked up',
    };
  const { before, after } = immutabilityVersions(request, snapshot.compiler);
  const uid = before?.uid ?? after?.uid;
  const found: string[] = [];
  for (const o of exposed.objects) {
    const target: MatchTarget = {
      group: o.group,
      kind: o.kind,
      ...(o.namespace ? { namespace: o.namespace } : {}),
      objectLabels: o.labels,
      namespaceLabels: o.namespace === undefined ? {} : exposed.namespaceLabels.get(o.namespace),
    };
    const concerned = [before, after].some(
      (p) =>
        p?.resources.some((r) => (r.group === '*' || r.group === o.group) && (r.kind === '*' || r.kind === o.kind)) &&
        p.match(target) !== 'no-match',
    );
    if (!concerned) continue;
    const others = snapshot.immutability.lookup(o.group, o.kind, o.namespace).filter((p) => p.uid !== uid);
    const sentences = immutabilityLoosenings(
      governingAmong(before ? [...others, before] : others, snapshot.defaultImmutability, target),
      governingAmong(after ? [...others, after] : others, snapshot.defaultImmutability, target),
    );
    if (sentences.length > 0) found.push(`${describeObject(o)}: ${sentences.join('; ')}`);
  }
  return found;
}

function imageExposures(request: AdmissionRequest, compiler: PolicyCompiler): string[] {
  const { before, after } = versions<CompiledImagePolicy>(request, (o) => compiler.image(o));
  if (!before || !imagePolicyDenies(before)) return [];
  if (!after)
    return request.operation === 'DELETE' ? [`ImagePolicy ${before.name} would no longer verify any image`] : [];
  const phrases = imageLooseningsOf(after, before);
  const specOf = (o: unknown) => (o as ImagePolicy | null | undefined)?.spec?.match;
  if (matchNarrowed(specOf(request.oldObject), specOf(request.object))) phrases.push('apply to fewer namespaces');
  return phrases.length > 0 ? [`ImagePolicy ${before.name} would ${phrases.join(', ')}`] : [];
}

export function evaluatePolicyGovernance(
  request: AdmissionRequest,
  snapshot: PolicySnapshot,
  facts: RequestFacts,
): Verdict {
  // Writes by anyone else are refused by the authorship rule already.
  if (!isPolicyWrite(request) || !isPolicyAdmin(snapshot.policyAdmins, request.userInfo)) return allow(RULE, 'skip');
  const kind = request.kind.kind;
  const name = request.name || request.object?.metadata?.name || '';
  const what = `${kind} ${name}`;
  const exposures =
    kind === 'ImmutabilityPolicy'
      ? immutabilityExposures(request, snapshot, facts)
      : imageExposures(request, snapshot.compiler);
  if (!Array.isArray(exposures))
    return deny(
      RULE,
      `${what}: cannot tell whether this ${request.operation.toLowerCase()} loosens existing locks, so it is ` +
        `denied (fail closed): ${exposures.unavailable}`,
    );
  if (exposures.length === 0) return allow(RULE);
  return requireAgreement({
    rule: RULE,
    request,
    snapshot,
    facts,
    target: { group: POLICY_GROUP, kind, name },
    what,
    exposures,
  });
}
