// The string formats and Kubernetes keywords Bulwark's schemas use, in one place for both
// ways a validator comes to be: ajv compiling at run time (schema-compile.ts: tests, the
// generator) and the code ajv compiled ahead of time (generated/validators.js), which
// reads these very definitions, so both judge a value the same way.

import { fullFormats } from 'ajv-formats/dist/formats.js';

export const SCHEMA_FORMATS = {
  'date-time': fullFormats['date-time'],
  // Kubernetes' int64: JSON numbers beyond 2^53 - 1 are not read exactly, so they are refused.
  int64: { type: 'number' as const, validate: (n: number) => Number.isSafeInteger(n) },
};

/** Kubernetes' extensions: ajv only tolerates them; their meaning is checked when policies compile. */
export const KUBERNETES_KEYWORDS = [
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
] as const;
