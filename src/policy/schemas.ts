// Validators of the CRDs' openAPIV3Schema, and how their findings read. They apply the
// schema's defaults, as the apiserver does, so files loaded in standalone mode end up in
// the same shape as objects read from the cluster.

import * as generated from './generated/validators.js';
import { problemOf, type CrdValidator, type CrdValidators } from './schema-problems.ts';

export { problemOf, type CrdValidator, type CrdValidators } from './schema-problems.ts';

/** A validator ajv compiled ahead of time (scripts/generate-validators.ts). */
function checking(validate: generated.GeneratedValidator): CrdValidator {
  return (object) => (validate(object) ? [] : (validate.errors ?? []).map(problemOf));
}

/**
 * A validator for each of Bulwark's CRDs, from their openAPIV3Schema in charts/bulwark/files/crds:
 * the code ajv generated for them ahead of time (generated/validators.js, kept current by
 * `npm run generate` and a test), so no process pays for ajv's code generation at start.
 */
export function createCrdValidators(): CrdValidators {
  return Object.freeze({
    ImmutabilityPolicy: checking(generated.ImmutabilityPolicy),
    ImagePolicy: checking(generated.ImagePolicy),
    UnlockRequest: checking(generated.UnlockRequest),
  });
}

/** Problems of a `bulwark test` file (cli/test/suite-schema.ts), from the same generated code. */
export const testSuiteProblems = checking(generated.TestSuite);
