// Reads a request body into one Buffer with a hard size limit: the admission hot path
// needs no content negotiation or charset decoding (the apiserver always sends JSON),
// so this replaces body-parser there and costs a fraction of it.

import type { IncomingMessage } from 'node:http';
import { BaseError, messageOf } from '../errors.ts';

const tooLarge = (limit: number) =>
  new BaseError('REVIEW_TOO_LARGE', `request body exceeds the limit of ${limit} bytes`);

/** The body, or a REVIEW_TOO_LARGE or REVIEW_UNREADABLE error. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume(); // drain, so the connection stays usable for the 413
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      failed = true;
      reject(new BaseError('REVIEW_UNREADABLE', `could not read the request body: ${messageOf(err)}`, { cause: err }));
    });
  });
}
