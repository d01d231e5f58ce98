// One registry of coded errors (after fastify's lib/errors.js and sigstore-js's error.ts).
// Each code has the HTTP status Bulwark answers with when the error ends a request (for
// errors that never reach HTTP, the status that would describe them) and a public
// description; callers switch on the code, never on message text. A code is never
// reused for another meaning.

export const ERRORS = {
  // What Bulwark is sent
  REVIEW_MALFORMED: { status: 400, message: 'The request body is not a valid AdmissionReview' },
  REVIEW_UNREADABLE: { status: 400, message: 'The request body could not be read' },
  REVIEW_TOO_LARGE: { status: 413, message: 'The request body is larger than the configured limit' },
  NOT_FOUND: { status: 404, message: 'No such endpoint' },
  SERVER_BUSY: { status: 429, message: 'Too many request bytes in flight; retry shortly' },
  // Deciding
  NOT_SYNCED: { status: 503, message: 'Policies are not yet read; retry in a few seconds' },
  DECISION_FAILED: { status: 500, message: 'The decision could not be computed, so the request is denied' },
  INTERNAL: { status: 500, message: 'Internal error' },
  // Starting: configuration, certificates, policies, the command line
  CONFIG_INVALID: { status: 500, message: 'The configuration is invalid' },
  TLS_LOAD_FAILED: { status: 500, message: 'The TLS certificate or key could not be loaded' },
  CRD_UNREADABLE: { status: 500, message: "Bulwark's CRD files could not be read" },
  POLICY_INVALID: { status: 422, message: 'The policy is invalid' },
  CLI_USAGE: { status: 400, message: 'The command line or its input is unusable' },
  // The API server
  KUBE_API_ERROR: { status: 502, message: 'The API server answered with an error' },
  KUBE_API_UNREACHABLE: { status: 503, message: 'The API server could not be reached or did not answer in time' },
  KUBE_API_BAD_RESPONSE: { status: 502, message: 'The API server answered with something that is not JSON' },
  LIST_TOO_LONG: { status: 500, message: 'More locked objects than a decision can check' },
  SECRET_UNAVAILABLE: { status: 503, message: 'A Secret needed for verification is missing or unusable' },
  ATTESTATION_KEYS_UNAVAILABLE: {
    status: 503,
    message: "Bulwark's attestation keys are not (yet) read, so approvals can be neither attested nor checked",
  },
  // Image registries
  REGISTRY_UNREACHABLE: { status: 502, message: 'The registry could not be reached' },
  REGISTRY_HTTP_ERROR: { status: 502, message: 'The registry answered with an unexpected HTTP status' },
  REGISTRY_BAD_RESPONSE: { status: 502, message: 'The registry answered with unusable content' },
  REGISTRY_AUTH_FAILED: { status: 502, message: 'The registry refused access' },
  REGISTRY_ABORTED: { status: 504, message: 'The registry request was aborted (the decision deadline passed)' },
  OCI_LAYOUT_INVALID: { status: 400, message: 'The OCI image layout directory given for signatures is unusable' },
  IMAGE_UNRESOLVED: { status: 502, message: 'An image tag could not be resolved to a digest' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** A problem with one field of an input, for messages that list every problem. */
export interface FieldProblem {
  /** Dotted/JSON-pointer-like path of the offending field, e.g. `request.uid`. */
  readonly path: string;
  readonly message: string;
}

export interface ErrorOptions {
  cause?: unknown;
  /** Problems found, each with the field path it concerns. */
  problems?: readonly FieldProblem[];
  /** What a remote server answered (KUBE_API_ERROR): its HTTP status and retry hint. */
  upstream?: { status: number; retryAfterSeconds?: number };
}

export class BaseError<Code extends ErrorCode = ErrorCode> extends Error {
  readonly code: Code;
  readonly problems: readonly FieldProblem[];
  readonly upstream: ErrorOptions['upstream'];

  constructor(code: Code, message?: string, options: ErrorOptions = {}) {
    super(message ?? ERRORS[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BulwarkError';
    this.code = code;
    this.problems = options.problems ?? [];
    this.upstream = options.upstream;
  }

  /** The HTTP status of this error's code. */
  get status(): number {
    return ERRORS[this.code].status;
  }
}

export function isBulwarkError<C extends ErrorCode>(err: unknown, code?: C): err is BaseError<C> {
  return err instanceof BaseError && (code === undefined || err.code === code);
}

/** An error's message, whatever was thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Renders problems as `path: message; path: message` for one-line messages. */
export function formatProblems(problems: readonly FieldProblem[]): string {
  return problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ');
}
