import { describe, expect, it } from 'vitest';
import type { MatchTarget } from '../../../src/policy/compiled.ts';
import { examplePolicies, immutabilityPolicy } from '../../helpers/policies.ts';
import { compiler } from '../../helpers/snapshots.ts';

function compiled(raw: unknown) {
  const result = compiler.immutability(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.policy;
}

function problems(raw: unknown): string[] {
  const result = compiler.immutability(raw);
  if (result.ok) throw new Error('expected problems');
  return result.problems.map((p) => `${p.path}: ${p.message}`);
}

/** A target in namespace prod-eu; `namespace: undefined` makes it cluster-scoped. */
const target = (over: { [K in keyof MatchTarget]?: MatchTarget[K] | undefined } = {}): MatchTarget => {
  const { namespace, ...rest } = {
    group: '',
    kind: 'ConfigMap',
    namespace: 'prod-eu',
    objectLabels: {},
    namespaceLabels: {},
    ...over,
  };
  return { ...(rest as Omit<MatchTarget, 'namespace'>), ...(namespace === undefined ? {} : { namespace }) };
};

describe('compileImmutabilityPolicy', () => {
  it('applies the schema defaults', () => {
    const p = compiled(immutabilityPolicy('defaults', {}));
    expect([...p.operations]).toEqual(['UPDATE', 'DELETE']);
    expect(p.enforcement).toBe('Enforce');
    expect(p.unlock).toMatchObject({ approvalsRequired: 2, maxDurationMs: 3_600_000 });
    expect(p.resources).toEqual([{ group: '*', kind: '*' }]);
    expect(p.match(target({ namespace: undefined }))).toBe('match');
  });

  it('compiles resources, namespaces, exemptions and unlock rules', () => {
    const policies = examplePolicies();
    const prod = compiled(policies['prod-config']);
    expect(prod.resources).toEqual([
      { group: '', kind: 'ConfigMap' },
      { group: '', kind: 'Secret' },
    ]);
    expect(prod.match(target())).toBe('match');
    expect(prod.match(target({ namespace: 'dev' }))).toBe('no-match');
    expect(prod.match(target({ namespace: undefined }))).toBe('no-match');
    expect(prod.unlock).toMatchObject({ approvalsRequired: 2, maxDurationMs: 7_200_000 });
    expect([...prod.unlock.approverGroups]).toEqual(['platform-leads']);
    const deploy = compiled(policies['deployments-replicas-may-scale']);
    expect([...deploy.exempt.users]).toEqual(['system:serviceaccount:argocd:argocd-application-controller']);
    expect(deploy.allowedPaths).toEqual(['/spec/replicas']);
  });

  it('answers unknown when it selects namespaces by label and the labels are unknown', () => {
    const p = compiled(immutabilityPolicy('sel', { match: { namespaceSelector: { matchLabels: { env: 'prod' } } } }));
    expect(p.match(target({ namespaceLabels: { env: 'prod' } }))).toBe('match');
    expect(p.match(target({ namespaceLabels: { env: 'dev' } }))).toBe('no-match');
    expect(p.match(target({ namespaceLabels: undefined }))).toBe('unknown');
  });

  it('applies an object selector to the object labels', () => {
    const p = compiled(
      immutabilityPolicy('obj', {
        match: { objectSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['db'] }] } },
      }),
    );
    expect(p.match(target({ objectLabels: { tier: 'db' } }))).toBe('match');
    expect(p.match(target({ objectLabels: { tier: 'web' } }))).toBe('no-match');
  });

  it('reports every schema problem with its field path', () => {
    expect(problems(immutabilityPolicy('x', { enforcement: 'Deny', operations: ['CREATE'], surprise: 1 }))).toEqual(
      expect.arrayContaining([
        'spec.enforcement: must be one of "Enforce", "Warn", "Audit"',
        'spec.operations[0]: must be one of "UPDATE", "DELETE"',
        'spec.surprise: unknown field',
      ]),
    );
    expect(
      problems({ apiVersion: 'bulwark.dev/v1alpha1', kind: 'ImmutabilityPolicy', metadata: { name: 'nospec' } }),
    ).toEqual(['spec: is required']);
  });

  it('reports problems of meaning: selectors, globs, pointers, durations', () => {
    const found = problems(
      immutabilityPolicy('bad', {
        match: {
          namespaceSelector: {
            matchExpressions: [
              { key: 'team', operator: 'In' },
              { key: 'Bad Key', operator: 'Exists' },
            ],
          },
          namespaces: ['prod-[a]'],
        },
        allowedChanges: ['spec/replicas', '/metadata/labels', '/a~2b'],
        unlock: { maxDuration: '1h' },
      }),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        'spec.match.namespaceSelector.matchExpressions[0].values: must be non-empty for operator In',
        'spec.match.namespaceSelector.matchExpressions[1].key: "Bad Key" is not a valid label key',
        expect.stringMatching(/^spec\.match\.namespaces\[0\]: may contain only/),
        expect.stringMatching(/^spec\.allowedChanges\[0\]: "spec\/replicas" is not a JSON Pointer/),
        expect.stringMatching(
          /^spec\.allowedChanges\[1\]: \/metadata\/labels would let the lock label itself be removed/,
        ),
        expect.stringMatching(/^spec\.allowedChanges\[2\]: /),
      ]),
    );
  });

  it('rejects a bad duration', () => {
    expect(problems(immutabilityPolicy('d', { unlock: { maxDuration: 'forever' } }))).toEqual([
      expect.stringMatching(/^spec\.unlock\.maxDuration: must match pattern/),
    ]);
  });
});
