// Guards of the containers of locked objects (pure). Deleting a Namespace deletes
// everything in it, one object at a time, and the webhook then denies the locked ones:
// the namespace hangs Terminating forever. Deleting a CRD deletes all its objects
// without asking any webhook at all. Both are refused up front while locked objects
// remain, naming some of them. Updating a CRD can change how its objects read without
// writing them: see crd-update.ts; so can routing a group/version to another server:
// see apiservice.ts. The shell lists locked objects (with a deadline); a failed listing
// denies (fail closed).

import type { AdmissionRequest } from '../../admission/types.ts';
import { isContainerDelete, type RequestFacts } from '../../decision/facts.ts';
import { allow, deny, type Verdict } from '../../decision/verdict.ts';
import type { PolicySnapshot } from '../../policy/compiled.ts';
import { evaluateApiServiceGuard, isApiServiceRerouting } from './apiservice.ts';
import { isCrdRequest } from './crd-changes.ts';
import { evaluateCrdUpdate } from './crd-update.ts';

export const RULE = 'deletion-guard';
/** Its own name in metrics and logs: a CRD update is not a deletion. */
export const CRD_UPDATE_RULE = 'crd-update-guard';
export const APISERVICE_RULE = 'apiservice-guard';

export function evaluateDeletionGuards(
  request: AdmissionRequest,
  snapshot: PolicySnapshot,
  facts: RequestFacts,
): Verdict {
  if (request.operation === 'UPDATE' && isCrdRequest(request))
    return evaluateCrdUpdate(CRD_UPDATE_RULE, request, snapshot, facts);
  if (isApiServiceRerouting(request)) return evaluateApiServiceGuard(APISERVICE_RULE, request, snapshot, facts);
  if (!isContainerDelete(request)) return allow(RULE, 'skip');
  const isNamespace = request.kind.kind === 'Namespace';
  const what = `${request.kind.kind} ${request.name ?? ''}`;
  const contents = facts.lockedContents;
  if (!contents || contents.status === 'unavailable') {
    return deny(
      RULE,
      `cannot check whether ${what} still holds objects ` +
        `labelled ${snapshot.lockLabel.key}=${snapshot.lockLabel.value}, so it is not deleted (fail ` +
        `closed): ${contents?.status === 'unavailable' ? contents.reason : 'not looked up'}`,
    );
  }
  if (contents.objects.length === 0) return allow(RULE);
  const listed = `${contents.objects.join(', ')}${contents.more ? ', and more' : ''}`;
  const consequence = isNamespace
    ? 'deleting the namespace would try to delete them, be denied, and leave it stuck Terminating'
    : 'deleting the CRD would delete them without asking any admission webhook';
  return deny(
    RULE,
    `${what} still holds locked objects (${listed}): ${consequence}. Unlock them (UnlockRequest) or remove ` +
      `their lock label with an approved unlock first`,
  );
}
