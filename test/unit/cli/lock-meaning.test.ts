// `kubectl bulwark lock` tells the truth: what the label means under the policies that
// govern the object now. Under a Warn (or Audit) policy nothing is refused; a policy
// that locks only UPDATE or only DELETE says which still goes through.

import { describe, expect, it } from 'vitest';
import { lockMeaning } from '../../../src/cli/plugin/governing.ts';
import { BUILTIN_IMMUTABILITY_POLICY } from '../../../src/policy/builtin.ts';
import type { CompiledImmutabilityPolicy } from '../../../src/policy/compiled.ts';
import { immutabilityPolicy } from '../../helpers/policies.ts';
import { compiler } from '../../helpers/snapshots.ts';

function compiled(name: string, spec: Record<string, unknown>): CompiledImmutabilityPolicy {
  const result = compiler.immutability(immutabilityPolicy(name, { match: { namespaces: ['*'] }, ...spec }));
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.policy;
}

describe('what a lock means', () => {
  it('under the built-in default or an enforcing policy: no change and no delete without an unlock', () => {
    expect(lockMeaning([BUILTIN_IMMUTABILITY_POLICY])).toBe(
      'it can no longer be changed or deleted without an approved UnlockRequest',
    );
  });

  it('under a Warn policy: says that changes still go through', () => {
    expect(lockMeaning([compiled('watch', { enforcement: 'Warn' })])).toBe(
      'but the policies governing it only warn (ImmutabilityPolicy watch: Warn): changes and deletion still go ' +
        'through, with a warning or an audit record',
    );
    expect(lockMeaning([compiled('rec', { enforcement: 'Audit' })])).toMatch(
      /^but the policies governing it only audit/,
    );
  });

  it('an enforcing policy wins over a warning one; a policy locking one operation says which is still open', () => {
    const both = [compiled('watch', { enforcement: 'Warn' }), compiled('strict', {})];
    expect(lockMeaning(both)).toBe('it can no longer be changed or deleted without an approved UnlockRequest');
    expect(lockMeaning([compiled('upd', { operations: ['UPDATE'] })])).toMatch(/still be deleted/);
    expect(lockMeaning([compiled('del', { operations: ['DELETE'] })])).toMatch(/still be changed/);
  });
});
