// Requester binding (issue 17): under a policy with unlock.requesterOnly, an approved unlock
// lifts the lock only for its requester and the users and groups the policy names in
// unlock.usableBy; dave, approved request or not, is refused while alice's change goes through.

import { describe, expect, it } from 'vitest';
import { reviewRequest } from '../../../src/review/review.ts';
import { immutabilityPolicy } from '../../helpers/policies.ts';
import { variant } from '../../helpers/reviews.ts';
import { compiler, policyStore } from '../../helpers/snapshots.ts';
import { CREATED_MS, unlockRequest } from '../../helpers/unlock.ts';

const GROUPS = ['dev', 'approvers', 'system:authenticated'];
const approved = () => {
  const r = compiler.unlock(
    unlockRequest('ur', {}, [
      { user: 'bob', groups: GROUPS },
      { user: 'carol', groups: GROUPS },
    ]),
  );
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.unlock;
};

function changeBy(username: string, groups: string[], unlock: Record<string, unknown>) {
  const s = policyStore({ sources: [] });
  s.upsert(
    'ImmutabilityPolicy',
    immutabilityPolicy('bound', {
      unlock: { approvalsRequired: 2, approverGroups: ['approvers'], maxDuration: '1h', ...unlock },
    }),
  );
  const review = variant('configmap-apply-changed', (r) => {
    r.request.userInfo = { username, groups };
  });
  return reviewRequest({
    request: review.request,
    snapshot: s.snapshot(),
    facts: { now: CREATED_MS + 60_000, namespaceLabels: {}, unlocks: [approved()] },
  });
}

describe('unlock.requesterOnly', () => {
  it("lets alice's change through and refuses dave's", () => {
    expect(changeBy('alice', ['dev'], { requesterOnly: true }).allowed).toBe(true);
    const dave = changeBy('dave', ['dev'], { requesterOnly: true });
    expect(dave.allowed).toBe(false);
    expect(dave.reasons[0]).toContain(
      'UnlockRequest ur: only its requester alice may use it (ImmutabilityPolicy bound sets ' +
        'unlock.requesterOnly), not dave',
    );
  });

  it('lets the users and groups named in usableBy through too, and names them', () => {
    const usableBy = { users: ['system:serviceaccount:argocd:argocd-application-controller'], groups: ['sre'] };
    expect(changeBy(usableBy.users[0]!, [], { requesterOnly: true, usableBy }).allowed).toBe(true);
    expect(changeBy('erin', ['sre'], { requesterOnly: true, usableBy }).allowed).toBe(true);
    const dave = changeBy('dave', ['dev'], { requesterOnly: true, usableBy });
    expect(dave.reasons[0]).toContain(
      'only its requester alice (or user system:serviceaccount:argocd:argocd-application-controller, ' +
        'group sre) may use it',
    );
  });

  it('without requesterOnly, anyone may use an approved unlock (the default, as before)', () => {
    expect(changeBy('dave', ['dev'], {}).allowed).toBe(true);
  });
});
