// One registry of coded errors. Codes are string literals so callers can switch on
// them exhaustively; a code is never reused for a different meaning.

export const ErrorCodes = {
  /** The HTTP body is not an admission.k8s.io/v1 AdmissionReview. */
  REVIEW_MALFORMED: 'The request body is not a valid AdmissionReview',
  /** The HTTP body exceeds the configured limit. */
  REVIEW_TOO_LARGE: 'The request body is larger than the configured limit',
  /** Configuration (flags, env, file) failed validation. */
  CONFIG_INVALID: 'The configuration is invalid',
  /** A TLS certificate or key could not be loaded. */
  TLS_LOAD_FAILED: 'The TLS certificate or key could not be loaded',
  /** A fact the decision needs (for example a parent object's labels) could not be read. */
  FACT_UNAVAILABLE: 'A fact needed for the decision could not be obtained',
  /** Something unexpected happened while deciding; the request is denied. */
  DECISION_FAILED: 'The decision could not be computed',
  /** A policy object failed validation or compilation. */
  POLICY_INVALID: 'The policy is invalid',
  /** A CLI argument or input file is unusable. */
  CLI_USAGE: 'The command line or its input is unusable',
  /** A registry could not be reached (connection refused, DNS, TLS). */
  REGISTRY_UNREACHABLE: 'The registry could not be reached',
  /** A registry answered with an unexpected HTTP status. */
  REGISTRY_HTTP_ERROR: 'The registry answered with an unexpected HTTP status',
  /** A registry answered with content that is malformed, too large or not the digest asked for. */
  REGISTRY_BAD_RESPONSE: 'The registry answered with unusable content',
  /** A registry refused the credentials, or no usable token could be obtained. */
  REGISTRY_AUTH_FAILED: 'The registry refused access',
  /** A registry request was aborted (the decision deadline passed). */
  REGISTRY_ABORTED: 'The registry request was aborted',
  /** A Secret with a key or registry credentials is missing or unusable. */
  SECRET_UNAVAILABLE: 'A Secret needed for verification is missing or unusable',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class BaseError<Code extends ErrorCode = ErrorCode> extends Error {
  readonly code: Code;
  /** Problems found, each with the field path it concerns (empty when not field-specific). */
  readonly problems: readonly FieldProblem[];

  constructor(code: Code, message?: string, options: { cause?: unknown; problems?: readonly FieldProblem[] } = {}) {
    super(message ?? ErrorCodes[code], options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BulwarkError';
    this.code = code;
    this.problems = options.problems ?? [];
  }
}

export interface FieldProblem {
  /** Dotted/JSON-pointer-like path of the offending field, e.g. `request.uid`. */
  readonly path: string;
  readonly message: string;
}

export function isBulwarkError<C extends ErrorCode>(err: unknown, code?: C): err is BaseError<C> {
  return err instanceof BaseError && (code === undefined || err.code === code);
}

/** Renders problems as `path: message; path: message` for one-line messages. */
export function formatProblems(problems: readonly FieldProblem[]): string {
  return problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ');
}
