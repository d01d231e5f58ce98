// One budget of request-body bytes for the whole server. A review holds its body from the
// first byte until its answer is sent, and its parsed form weighs a few times the text;
// 100 concurrent 7 MiB reviews once took a replica to 1.2 GiB, past its memory limit.
// Requests that do not fit get a fast 429 (the apiserver applies its failurePolicy)
// instead of waiting: a queue would only move the memory elsewhere and miss the deadline.

export interface BodyBudget {
  /** Reserves `bytes`; false when they do not fit. A request alone always fits. */
  tryReserve(bytes: number): boolean;
  release(bytes: number): void;
  /** Bytes reserved now. */
  readonly inFlight: number;
}

export function createBodyBudget(limit: number): BodyBudget {
  let inFlight = 0;
  return {
    tryReserve(bytes) {
      if (inFlight > 0 && inFlight + bytes > limit) return false;
      inFlight += bytes;
      return true;
    },
    release(bytes) {
      inFlight = Math.max(0, inFlight - bytes);
    },
    get inFlight() {
      return inFlight;
    },
  };
}
