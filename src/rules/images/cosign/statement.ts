// In-toto statements (pure), as cosign signs them in a DSSE envelope: for a signature
// (predicateType https://sigstore.dev/cosign/sign/v1) and for an attestation (`cosign
// attest`: SLSA provenance, a vulnerability scan, any custom predicate). cosign writes
// Statement v1 in sigstore bundles and v0.1 in the legacy .att format; both are read.

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const STATEMENT_TYPES = new Set(['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1']);

export interface Statement {
  predicateType: unknown;
  /** The sha256 digests (hex) its subjects name. */
  subjects: string[];
  predicate: unknown;
}

/** The statement a verified envelope holds, or why it is none (reported as a signature for something else). */
export function parseStatement(payloadType: string, payload: Buffer): { statement: Statement } | { problem: string } {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE)
    return { problem: `the signed envelope holds ${JSON.stringify(payloadType)}, not an in-toto statement` };
  let doc: { _type?: unknown; predicateType?: unknown; subject?: unknown; predicate?: unknown };
  try {
    doc = JSON.parse(payload.toString('utf8')) as typeof doc;
  } catch {
    return { problem: 'the signed statement is not JSON' };
  }
  if (typeof doc !== 'object' || doc === null || !STATEMENT_TYPES.has(doc._type as string))
    return { problem: `the signed payload is not an in-toto statement (_type ${JSON.stringify(doc?._type)})` };
  const subjects = (Array.isArray(doc.subject) ? (doc.subject as { digest?: Record<string, unknown> }[]) : [])
    .map((s) => s?.digest?.sha256)
    .filter((d): d is string => typeof d === 'string');
  return { statement: { predicateType: doc.predicateType, subjects, predicate: doc.predicate } };
}

/** Undefined when the statement names `digest` among its subjects, else why not. */
export function subjectProblem(statement: Statement, digest: string, what = 'signature'): string | undefined {
  const named = statement.subjects;
  if (named.includes(digest.slice('sha256:'.length))) return undefined;
  if (named.length === 0) return 'the signed statement names no sha256 subject';
  const listed = named
    .slice(0, 3)
    .map((d) => `sha256:${d}`)
    .join(', ');
  return `the ${what} is for ${listed}, not ${digest}`;
}
