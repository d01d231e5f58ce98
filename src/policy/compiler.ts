// Compiling Bulwark's objects (ImmutabilityPolicy, ImagePolicy, UnlockRequest) with the
// CRD validators bound in. Made once by the composition root (main.ts, the CLI) and
// handed to the policy store, which passes it on in every snapshot: the rules that judge
// a policy or an UnlockRequest at admission compile it exactly as the store does.

import type { CompiledImagePolicy, CompiledImmutabilityPolicy } from './compiled.ts';
import { compileImagePolicy } from './compile-image.ts';
import { compileImmutabilityPolicy, type CompileResult } from './compile-immutability.ts';
import { compileUnlock, type UnlockCompileResult } from './compile-unlock.ts';
import { createCrdValidators, type CrdValidators } from './schemas.ts';

export interface PolicyCompiler {
  immutability(object: unknown): CompileResult<CompiledImmutabilityPolicy>;
  image(object: unknown): CompileResult<CompiledImagePolicy>;
  unlock(object: unknown): UnlockCompileResult;
}

/** Binds the CRD validators (compiled now from charts/bulwark/files/crds unless given). */
export function createPolicyCompiler(validators: CrdValidators = createCrdValidators()): PolicyCompiler {
  return Object.freeze({
    immutability: (object: unknown) => compileImmutabilityPolicy(object, validators.ImmutabilityPolicy),
    image: (object: unknown) => compileImagePolicy(object, validators.ImagePolicy),
    unlock: (object: unknown) => compileUnlock(object, validators.UnlockRequest),
  });
}
