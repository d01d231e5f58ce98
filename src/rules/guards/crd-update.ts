// The CRD update guard (pure). A CRD update that can change how existing objects read
// (crd-changes.ts) changes every locked object of the CRD without writing any of them,
// so no admission would ever see those changes. It is denied while locked objects of the
// CRD exist, naming some of them and what the update would change, unless an approved
// UnlockRequest for the CRD (operation UPDATE) covers it, exactly as for a locked object:
// the same UnlockRequest machinery. A CRD's schema governs how locked objects read, so,
// like a policy, it is approved by the policy admins (see unlock/approval-rules.ts).

import type { AdmissionRequest } from '../../admission/types.ts';
import type { RequestFacts } from '../../decision/facts.ts';
import { allow, deny, type Verdict } from '../../decision/verdict.ts';
import type { PolicySnapshot } from '../../policy/compiled.ts';
import { crdReadingChanges } from './crd-changes.ts';
import { unlockedVerdict, unlockForUpdate } from './guard-unlock.ts';

const CRD_GROUP = 'apiextensions.k8s.io';
const CRD_KIND = 'CustomResourceDefinition';
const SHOWN_CHANGES = 6;

export function evaluateCrdUpdate(
  rule: string,
  request: AdmissionRequest,
  snapshot: PolicySnapshot,
  facts: RequestFacts,
): Verdict {
  const changes = crdReadingChanges(request.oldObject, request.object);
  if (changes.length === 0) return allow(rule, 'skip');
  const what = `CustomResourceDefinition ${request.name ?? ''}`;
  const unlock = unlockForUpdate(request, snapshot, facts, { group: CRD_GROUP, kind: CRD_KIND });
  if (unlock?.ok) return unlockedVerdict(rule, what, unlock);
  const more = changes.length > SHOWN_CHANGES ? `, and ${changes.length - SHOWN_CHANGES} more` : '';
  const shown = `${changes.slice(0, SHOWN_CHANGES).join(', ')}${more}`;
  const why = unlock && !unlock.ok ? ` (${unlock.why.join('; ')})` : '';
  const contents = facts.lockedContents;
  if (!contents || contents.status === 'unavailable') {
    return deny(
      rule,
      `cannot check whether ${what} holds objects ` +
        `labelled ${snapshot.lockLabel.key}=${snapshot.lockLabel.value}, so this update, which would ` +
        `change ${shown}, is denied (fail ` +
        `closed): ${contents?.status === 'unavailable' ? contents.reason : 'not looked up'}${why}`,
    );
  }
  if (contents.objects.length === 0) return allow(rule);
  const listed = `${contents.objects.join(', ')}${contents.more ? ', and more' : ''}`;
  return deny(
    rule,
    `${what} still holds locked objects (${listed}): this update would change how they read without writing ` +
      `them (${shown}). Changes of printer columns, short names and categories are allowed; for this one, an ` +
      `UnlockRequest for the CRD (operation UPDATE) must be approved first${why}`,
  );
}
