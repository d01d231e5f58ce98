// Decode: untrusted JSON in, a typed AdmissionRequest out, or a BaseError that lists
// every problem with its path. The shape is checked by the review schema
// (review-schema.ts), compiled once when the decoder is made, so rules only ever see
// known fields of the types they expect.

import { BaseError, formatProblems } from '../errors.ts';
import { parseJson } from '../json/parse.ts';
import { compileReviewSchema, type ReviewSchemaCheck } from './review-schema.ts';
import type { AdmissionReviewRequest } from './types.ts';

/** How many problems an answer lists at most. */
const MAX_PROBLEMS = 100;

export interface ReviewDecoder {
  /** Validates a parsed body; throws REVIEW_MALFORMED listing every problem. */
  decode(body: unknown): AdmissionReviewRequest;
  /**
   * Parses and validates a raw body (string or bytes). Numbers a double cannot hold
   * exactly stay exact (raw number leaves, see json/numbers.ts), so that a change from
   * 9007199254740993 to 9007199254740992 is a change.
   */
  parse(raw: string | Buffer): AdmissionReviewRequest;
}

/** Compiles the schema unless given one: call once (start-up, a command), never per request. */
export function createReviewDecoder(check: ReviewSchemaCheck = compileReviewSchema()): ReviewDecoder {
  const decode = (body: unknown): AdmissionReviewRequest => {
    const found = check(body);
    if (found.length > 0) {
      // A body of a million wrongly typed labels must not become a larger answer and log line.
      const problems = found.slice(0, MAX_PROBLEMS);
      const more = found.length > MAX_PROBLEMS ? ` and ${found.length - MAX_PROBLEMS} more problems` : '';
      throw new BaseError(
        'REVIEW_MALFORMED',
        `not an admission.k8s.io/v1 AdmissionReview: ${formatProblems(problems)}${more}`,
        { problems },
      );
    }
    return body as AdmissionReviewRequest;
  };
  return {
    decode,
    parse(raw) {
      let body: unknown;
      try {
        body = parseJson(typeof raw === 'string' ? raw : raw.toString('utf8'));
      } catch (err) {
        throw new BaseError('REVIEW_MALFORMED', `body is not valid JSON: ${(err as Error).message}`, { cause: err });
      }
      return decode(body);
    },
  };
}
