// The CRD validators are built by whoever starts Bulwark and handed to the compiler:
// nothing compiles a schema behind the caller's back, and the compiler uses exactly the
// validators it is given.
import { describe, expect, it } from 'vitest';
import { createPolicyCompiler } from '../../../src/policy/compiler.ts';
import type { CrdValidators } from '../../../src/policy/schemas.ts';
import { compileCrdValidators } from '../../../src/policy/schema-compile.ts';
import { immutabilityPolicy } from '../../helpers/policies.ts';
import { unlockRequest } from '../../helpers/unlock.ts';

describe('policy compiler', () => {
  it('validates with the validators it is given', () => {
    const refuseAll = (path: string) => () => [{ path, message: 'refused by the injected validator' }];
    const validators: CrdValidators = {
      ImmutabilityPolicy: refuseAll('spec'),
      ImagePolicy: refuseAll('spec'),
      UnlockRequest: refuseAll('spec.target'),
    };
    const compiler = createPolicyCompiler(validators);
    expect(compiler.immutability(immutabilityPolicy('p', {}))).toMatchObject({
      ok: false,
      problems: [{ path: 'spec', message: 'refused by the injected validator' }],
    });
    expect(compiler.unlock(unlockRequest('u', {}))).toMatchObject({ ok: false, problems: [{ path: 'spec.target' }] });
  });

  it('builds the validators from the CRD schemas it is given, filling in their defaults', () => {
    const schema = {
      type: 'object',
      properties: { spec: { type: 'object', properties: { mode: { type: 'string', default: 'strict' } } } },
    };
    const validators = compileCrdValidators({ ImmutabilityPolicy: schema, ImagePolicy: schema, UnlockRequest: schema });
    const object: { spec: { mode?: string } } = { spec: {} };
    expect(validators.ImagePolicy(object)).toEqual([]);
    expect(object.spec.mode).toBe('strict');
    expect(validators.UnlockRequest({ spec: { mode: 1 } })).toEqual([{ path: 'spec.mode', message: 'must be string' }]);
  });
});
