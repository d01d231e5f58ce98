// Runs the pure core for one decoded review and never throws: facts are looked up
// first (the only await), then the core decides. Any unexpected exception becomes a
// denial that says so (fail closed) with the error's code and the request uid to find
// it in the logs; the exception's own text stays in the logs (it may say more than a
// requester should read). Shared by the HTTPS server and `bulwark review`.

import { encodeResponse } from './encode.ts';
import type { AdmissionRequest, AdmissionReviewRequest, AdmissionReviewResponse } from '../admission/types.ts';
import type { PolicySnapshot } from '../policy/compiled.ts';
import { needsParent, type RequestFacts } from '../decision/facts.ts';
import { reviewRequest } from './review.ts';
import { deny, type Verdict } from '../decision/verdict.ts';
import { isBulwarkError } from '../errors.ts';

/** Looks up what the core needs beyond the request, using the same snapshot the core will. */
export type FactResolver = (request: AdmissionRequest, snapshot: PolicySnapshot) => Promise<RequestFacts>;

export interface DecideDeps {
  /** The current policy snapshot; read once per request. */
  snapshot: () => PolicySnapshot;
  /** Looks up facts the request lacks (for example a scaled object's labels). */
  resolveFacts: FactResolver;
  /**
   * Called with each decision before it is answered (the server records who locked what).
   * It must not throw; if it does, the decision stands.
   */
  onDecided?: (request: AdmissionRequest, verdict: Verdict) => Promise<void>;
}

export interface Decided {
  review: AdmissionReviewResponse;
  verdict: Verdict;
  /** Set when the verdict is a fail-closed denial caused by this error. */
  error?: unknown;
}

export async function decide(review: AdmissionReviewRequest, deps: DecideDeps): Promise<Decided> {
  const request = review.request;
  try {
    const snapshot = deps.snapshot();
    // Unsynced: the core denies without facts; looking them up would be wasted I/O.
    const facts = snapshot.synced ? await deps.resolveFacts(request, snapshot) : {};
    const verdict = reviewRequest({ request, snapshot, facts });
    await deps.onDecided?.(request, verdict).catch(() => undefined);
    return decided(request.uid, verdict);
  } catch (error) {
    const code = isBulwarkError(error) ? error.code : 'DECISION_FAILED';
    const reason =
      `bulwark could not decide this request and denies it (fail closed): ${code}; see the bulwark ` +
      `logs for request uid ${request.uid}`;
    const verdict: Verdict = {
      ...deny('internal', reason, { decision: 'deny', reason: `internal error: ${code}` }),
      failure: { code: 'DECISION_FAILED' },
    };
    return { ...decided(request.uid, verdict), error };
  }
}

/** The answer object is made when asked for: the server writes its text directly (encodeResponseText). */
function decided(uid: string, verdict: Verdict): Decided {
  return {
    verdict,
    get review() {
      return encodeResponse(uid, verdict);
    },
  };
}

/** A resolver for when there is no cluster to ask: facts are reported unavailable. */
export const noClusterFacts: FactResolver = async (request) =>
  needsParent(request)
    ? { parent: { status: 'unavailable', reason: 'bulwark runs without a cluster connection' } }
    : {};
