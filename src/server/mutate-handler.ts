// POST /mutate: Bulwark's only mutating webhook, registered for UnlockRequests alone. It
// stamps the approvals a write appends with Bulwark's attestation (attestation/stamp.ts)
// and changes nothing else; it never mutates user objects. Without keys it denies an
// UnlockRequest write (503, retry), since an approval it cannot attest would never count.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReviewDecoder } from '../admission/decode.ts';
import { ADMISSION_API_VERSION, type AdmissionResponse } from '../admission/types.ts';
import type { AttestationKeyRing } from '../attestation/keys.ts';
import { attestationPatch, isUnlockRequestWrite } from '../attestation/stamp.ts';
import { BaseError, ERRORS, isBulwarkError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { closeAfterAnswer } from './protocol.ts';
import { readBody, type BodyLimits } from './read-body.ts';
import { sendError, sendJson } from './validate-handler.ts';

export interface MutateOptions {
  keys: () => AttestationKeyRing | undefined;
  /** The time of admission (RFC 3339); injectable for tests. */
  now?: () => string;
  logger: Logger;
  /** The same schema-checked decoder as /validate. */
  decoder: ReviewDecoder;
  /** The size limit, and the in-flight byte budget shared with /validate. */
  limits: BodyLimits;
}

export function createMutateHandler(
  options: MutateOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const now = options.now ?? (() => new Date().toISOString());
  return async (req, res) => {
    let request: ReturnType<ReviewDecoder['parse']>['request'];
    const reading = readBody(req, options.limits);
    res.once('close', reading.release);
    try {
      request = options.decoder.parse(await reading.body).request;
    } catch (err) {
      closeAfterAnswer(req, res);
      sendError(res, isBulwarkError(err) ? err : new BaseError('REVIEW_MALFORMED', undefined, { cause: err }));
      return;
    }
    const response: AdmissionResponse = { uid: request.uid, allowed: true };
    if (isUnlockRequestWrite(request)) {
      const ring = options.keys();
      if (!ring) {
        response.allowed = false;
        response.status = {
          code: ERRORS.ATTESTATION_KEYS_UNAVAILABLE.status,
          reason: 'ServiceUnavailable',
          message: `bulwark cannot attest approvals yet: ${ERRORS.ATTESTATION_KEYS_UNAVAILABLE.message}; retry`,
          details: { retryAfterSeconds: 2 },
        };
      } else {
        const ops = attestationPatch(request, ring, now());
        if (ops.length > 0) {
          response.patchType = 'JSONPatch';
          response.patch = Buffer.from(JSON.stringify(ops)).toString('base64');
          options.logger.info(
            { uid: request.uid, name: request.name, user: request.userInfo.username, keyId: ring.signingKeyId },
            `attested ${ops.filter((o) => o.op === 'add').length} approval(s)`,
          );
        }
      }
    }
    sendJson(res, 200, { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response });
  };
}
