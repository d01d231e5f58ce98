// The phase Bulwark reports for an UnlockRequest (issue 17), as it changes: Pending until
// enough approvals count, Approved, Active once the target changed, Used once a bound change
// or a deletion happened, Expired, Rejected. Times come from the injected clock.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/admission/types.ts';
import type { ApprovalRule } from '../../../src/rules/unlock/approvals.ts';
import { unlockStatus } from '../../../src/rules/unlock/phase.ts';
import { compiler } from '../../helpers/snapshots.ts';
import { TEST_KEYS } from '../../helpers/attestation.ts';
import { CREATED_MS, unlockRequest } from '../../helpers/unlock.ts';

const GROUPS = ['dev', 'approvers'];
const by = (user: string) => ({ user, groups: GROUPS });
const RULES: ApprovalRule[] = [
  {
    source: 'ImmutabilityPolicy locks',
    unlock: { approvalsRequired: 2, approverGroups: new Set(['approvers']), maxDurationMs: 3_600_000 },
  },
];
const target = (resourceVersion: string, color = 'blue'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'app-config', namespace: 'demo', resourceVersion },
  data: { color },
});
const compiled = (spec: Record<string, unknown>, approvals: { user: string; groups?: string[] }[]) => {
  const r = compiler.unlock(unlockRequest('ur', spec, approvals));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.unlock;
};
const MINUTE = 60_000;
/** The status `minutes` after creation, with the target as given. */
const at = (
  unlock: ReturnType<typeof compiled>,
  minutes: number,
  t: KubeObject | undefined,
  previous?: ReturnType<typeof unlockStatus>,
) =>
  unlockStatus({
    keys: TEST_KEYS,
    unlock,
    rules: RULES,
    now: CREATED_MS + minutes * MINUTE,
    target: t,
    ...(previous ? { previous } : {}),
  });

describe('unlockStatus', () => {
  it('is Pending with "approvals 1 of 2", the expiry and what it would allow', () => {
    const s = unlockStatus({
      keys: TEST_KEYS,
      unlock: compiled({}, [by('bob')]),
      rules: RULES,
      now: CREATED_MS,
      target: target('7'),
    });
    expect(s).toMatchObject({
      phase: 'Pending',
      approvals: '1/2',
      approvalsCounted: 1,
      approvalsRequired: 2,
      expiresAt: '2026-11-25T10:30:00Z',
      message: 'approvals 1 of 2',
      allows: 'UPDATE of ConfigMap demo/app-config for 30m from creation (until 2026-11-25T10:30:00.000Z), by anyone',
    });
  });

  it('says why an approval does not count', () => {
    const s = unlockStatus({
      keys: TEST_KEYS,
      unlock: compiled({}, [by('bob'), { user: 'carol' }]),
      rules: RULES,
      now: CREATED_MS,
      target: target('7'),
    });
    expect(s.message).toMatch(/^approvals 1 of 2 \(carol's approval does not record the approver's groups/);
  });

  it('goes Approved (recording the target version), Active once the target changes, then Expired', () => {
    const unlock = compiled({}, [by('bob'), by('carol')]);
    const first = at(unlock, 1, target('7'));
    expect(first).toMatchObject({ phase: 'Approved', approvals: '2/2', baseTargetResourceVersion: '7' });
    const same = at(unlock, 2, target('7'), first);
    expect(same.phase).toBe('Approved');
    const inUse = at(unlock, 3, target('9', 'green'), first);
    expect(inUse).toMatchObject({ phase: 'Active', baseTargetResourceVersion: '7' });
    const late = at(unlock, 30, target('9'), inUse);
    expect(late).toMatchObject({ phase: 'Expired', message: 'expired at 2026-11-25T10:30:00Z: the lock is back' });
  });

  it('is Used once the bound change is in place, and stays Used after expiry', () => {
    const patch = [{ op: 'replace', path: '/data/color', value: 'green' }];
    const unlock = compiled({ change: { patch } }, [by('bob'), by('carol')]);
    const approved = at(unlock, 1, target('7'));
    expect(approved.allows).toContain('only the bound change (1 patch operation(s)) of ConfigMap demo/app-config');
    const other = at(unlock, 2, target('8', 'red'), approved);
    expect(other.phase).toBe('Active');
    const done = at(unlock, 3, target('9', 'green'), approved);
    expect(done.phase).toBe('Used');
    expect(at(unlock, 99, target('9', 'green'), done).phase).toBe('Used');
  });

  it('is Used once the target of a DELETE unlock is gone', () => {
    const unlock = compiled({ operations: ['DELETE'] }, [by('bob'), by('carol')]);
    const approved = at(unlock, 1, target('7'));
    expect(at(unlock, 2, undefined, approved).phase).toBe('Used');
  });

  it('is Rejected whatever its approvals, and an approval from the requester never counts', () => {
    const o = unlockRequest('ur', {}, [by('alice'), by('bob'), by('carol')]);
    (o.spec as Record<string, unknown>).rejections = [by('erin')];
    const r = compiler.unlock(o);
    if (!r.ok) throw new Error('invalid');
    const s = unlockStatus({ keys: TEST_KEYS, unlock: r.unlock, rules: RULES, now: CREATED_MS, target: target('7') });
    expect(s).toMatchObject({ phase: 'Rejected', approvals: '2/2', message: 'rejected by erin: it never unlocks' });
  });

  it('says "by alice only" under requesterOnly', () => {
    const rules = [
      {
        ...RULES[0]!,
        unlock: { ...RULES[0]!.unlock, requesterOnly: { users: new Set<string>(), groups: new Set<string>() } },
      },
    ];
    expect(
      unlockStatus({ keys: TEST_KEYS, unlock: compiled({}, []), rules, now: CREATED_MS, target: target('7') }).allows,
    ).toMatch(/by alice only$/);
  });
});
