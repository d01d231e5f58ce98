// Namespace scoping shared by both policy kinds: names or globs, and a label selector.

import type { FieldProblem } from '../errors.ts';
import type { MatchResult } from './compiled.ts';
import { compileGlob, globProblem } from './glob.ts';
import { checkSelector, compileSelector, isEmptySelector, type LabelSelectorSpec, type Labels } from './selector.ts';

export interface NamespaceMatchSpec {
  namespaces?: string[];
  namespaceSelector?: LabelSelectorSpec;
}

export type NamespaceMatcher = (namespace: string | undefined, labels: Labels | undefined) => MatchResult;

export function checkNamespaceMatch(spec: NamespaceMatchSpec | undefined, path: string): FieldProblem[] {
  const problems = checkSelector(spec?.namespaceSelector, `${path}.namespaceSelector`);
  (spec?.namespaces ?? []).forEach((ns, i) => {
    const problem = globProblem(ns);
    if (problem) problems.push({ path: `${path}.namespaces[${i}]`, message: problem });
  });
  return problems;
}

/**
 * Cluster-scoped objects (namespace undefined) match only an unscoped policy. A label
 * selector needs the namespace's labels: without them the answer is `unknown`.
 */
export function compileNamespaceMatch(spec: NamespaceMatchSpec | undefined): NamespaceMatcher {
  const globs = (spec?.namespaces ?? []).map((ns) => compileGlob(ns).regex);
  const hasSelector = !isEmptySelector(spec?.namespaceSelector);
  const selector = compileSelector(spec?.namespaceSelector);
  if (globs.length === 0 && !hasSelector) return () => 'match';
  return (namespace, labels) => {
    if (namespace === undefined) return 'no-match';
    if (globs.length > 0 && !globs.some((g) => g.test(namespace))) return 'no-match';
    if (!hasSelector) return 'match';
    if (labels === undefined) return 'unknown';
    return selector(labels) ? 'match' : 'no-match';
  };
}
