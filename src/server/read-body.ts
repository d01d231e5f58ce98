// Reads a request body into one Buffer with a hard size limit and a share of the server's
// body budget: the admission hot path needs no content negotiation or charset decoding
// (the apiserver always sends JSON), so this replaces body-parser there.

import type { IncomingMessage } from 'node:http';
import { BaseError, messageOf } from '../errors.ts';
import type { BodyBudget } from './body-budget.ts';

const tooLarge = (limit: number) =>
  new BaseError('REVIEW_TOO_LARGE', `request body exceeds the limit of ${limit} bytes`);
const busy = () => new BaseError('SERVER_BUSY');

export interface BodyLimits {
  maxBodyBytes: number;
  budget: BodyBudget;
}

/**
 * The body, or a REVIEW_TOO_LARGE, SERVER_BUSY or REVIEW_UNREADABLE error. The bytes it
 * reserved in the budget are given back by `release` (call it once the answer is sent),
 * also when it fails.
 */
export function readBody(req: IncomingMessage, limits: BodyLimits): { body: Promise<Buffer>; release(): void } {
  const { maxBodyBytes: limit, budget } = limits;
  let reserved = 0;
  const release = () => {
    budget.release(reserved);
    reserved = 0;
  };
  const declared = Number(req.headers['content-length']);
  // A refused body is not read: the answer closes the connection (validate-handler.ts), so
  // that refusing costs neither memory nor the time to receive megabytes that the
  // accepted reviews need. Draining 100 refused 7 MiB bodies once starved the accepted ones.
  if (Number.isFinite(declared) && declared > limit) return { body: Promise.reject(tooLarge(limit)), release };
  // The apiserver declares the length: reserve it all before reading a byte.
  if (Number.isFinite(declared) && declared > 0) {
    if (!budget.tryReserve(declared)) return { body: Promise.reject(busy()), release };
    reserved = declared;
  }
  const body = new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (error: BaseError) => {
      failed = true;
      chunks.length = 0;
      release();
      reject(error);
    };
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) return fail(tooLarge(limit));
      if (size > reserved) {
        // Chunked, or longer than declared (node:http refuses the latter): reserve as it comes.
        if (!budget.tryReserve(size - reserved)) return fail(busy());
        reserved = size;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (failed) return;
      fail(new BaseError('REVIEW_UNREADABLE', `could not read the request body: ${messageOf(err)}`, { cause: err }));
    });
  });
  return { body, release };
}
