// Kubernetes label selectors (matchLabels + matchExpressions), compiled to predicates.

import type { FieldProblem } from '../errors.ts';

export interface LabelSelectorSpec {
  matchLabels?: Record<string, string | undefined>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export type Labels = Readonly<Record<string, string>>;
export type LabelPredicate = (labels: Labels) => boolean;

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

export function isValidLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  if (slash < 0) return NAME.test(key);
  const prefix = key.slice(0, slash);
  return prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix) && NAME.test(key.slice(slash + 1));
}

export function isValidLabelValue(value: string): boolean {
  return VALUE.test(value);
}

/** True when the selector selects everything (no requirements). */
export function isEmptySelector(spec: LabelSelectorSpec | undefined): boolean {
  return !spec || (Object.keys(spec.matchLabels ?? {}).length === 0 && (spec.matchExpressions ?? []).length === 0);
}

export function checkSelector(spec: LabelSelectorSpec | undefined, path: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const [key, value] of Object.entries(spec?.matchLabels ?? {})) {
    if (!isValidLabelKey(key))
      problems.push({ path: `${path}.matchLabels["${key}"]`, message: 'is not a valid label key' });
    if (value === undefined || !isValidLabelValue(value))
      problems.push({
        path: `${path}.matchLabels["${key}"]`,
        message: `value ${JSON.stringify(value)} is not a valid label value`,
      });
  }
  (spec?.matchExpressions ?? []).forEach((e, i) => {
    const at = `${path}.matchExpressions[${i}]`;
    if (!isValidLabelKey(e.key))
      problems.push({ path: `${at}.key`, message: `${JSON.stringify(e.key)} is not a valid label key` });
    const values = e.values ?? [];
    if ((e.operator === 'In' || e.operator === 'NotIn') && values.length === 0)
      problems.push({ path: `${at}.values`, message: `must be non-empty for operator ${e.operator}` });
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && values.length > 0)
      problems.push({ path: `${at}.values`, message: `must be empty for operator ${e.operator}` });
    values.forEach((v, j) => {
      if (!isValidLabelValue(v))
        problems.push({ path: `${at}.values[${j}]`, message: `${JSON.stringify(v)} is not a valid label value` });
    });
  });
  return problems;
}

/** Compiles a checked selector. An empty selector matches everything. */
export function compileSelector(spec: LabelSelectorSpec | undefined): LabelPredicate {
  const tests: LabelPredicate[] = [];
  for (const [key, value] of Object.entries(spec?.matchLabels ?? {})) tests.push((l) => l[key] === value);
  for (const e of spec?.matchExpressions ?? []) {
    const values = new Set(e.values ?? []);
    switch (e.operator) {
      case 'In':
        tests.push((l) => l[e.key] !== undefined && values.has(l[e.key]!));
        break;
      case 'NotIn':
        tests.push((l) => l[e.key] === undefined || !values.has(l[e.key]!));
        break;
      case 'Exists':
        tests.push((l) => l[e.key] !== undefined);
        break;
      case 'DoesNotExist':
        tests.push((l) => l[e.key] === undefined);
        break;
    }
  }
  return (labels) => tests.every((t) => t(labels));
}
