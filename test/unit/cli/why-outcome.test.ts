// How `kubectl bulwark why` reads the apiserver's answer to a dry run: the status says
// allowed, denied or conflict; Bulwark's unlock note turns an allow into "allowed only
// because UnlockRequest X is active"; Warning headers are read as the apiserver writes them.

import { describe, expect, it } from 'vitest';
import { warningText } from '../../../src/cluster/kube-client.ts';
import { describeWhy, outcomeOf } from '../../../src/cli/plugin/why.ts';

const NOTE =
  'ConfigMap shop/cfg is locked, but UnlockRequest unlock-cfg-1a2b3c (requested by alice, approved by bob) ' +
  'allows this update until 2026-11-29T11:00:00.000Z';

describe('why outcomes', () => {
  it('tells a conflict from a denial, and an allow by an unlock from a plain allow', () => {
    expect(outcomeOf(200, [])).toEqual({ outcome: 'allowed' });
    expect(outcomeOf(200, ['ConfigMap shop/cfg is locked (labelled x=y); this update would change data.a'])).toEqual({
      outcome: 'allowed',
    });
    expect(outcomeOf(201, [NOTE])).toEqual({ outcome: 'allowed-by-unlock', unlockRequest: 'unlock-cfg-1a2b3c' });
    const local = NOTE.replace('UnlockRequest unlock-cfg-1a2b3c', 'LocalUnlockRequest shop/unlock-cfg-1a2b3c');
    const byLocal = outcomeOf(200, [local]);
    expect(byLocal).toEqual({
      outcome: 'allowed-by-unlock',
      unlockRequest: 'shop/unlock-cfg-1a2b3c',
      unlockKind: 'LocalUnlockRequest',
    });
    expect(describeWhy({ object: 'ConfigMap shop/cfg', ...byLocal, warnings: [local] })[0]).toContain(
      'allowed only because LocalUnlockRequest shop/unlock-cfg-1a2b3c is active',
    );
    expect(outcomeOf(403, [])).toEqual({ outcome: 'denied' });
    expect(outcomeOf(409, [])).toEqual({ outcome: 'conflict' });
    expect(outcomeOf(422, [])).toEqual({ outcome: 'failed' });
  });

  it('describes each for people, warnings included, the unlock note said once', () => {
    const lines = describeWhy({
      object: 'ConfigMap shop/cfg',
      outcome: 'allowed-by-unlock',
      unlockRequest: 'unlock-cfg-1a2b3c',
      warnings: [NOTE, 'another warning'],
    });
    expect(lines).toEqual([
      'ConfigMap shop/cfg: this change would be allowed only because UnlockRequest unlock-cfg-1a2b3c is active ' +
        '(the object is locked; without the unlock it would be denied)',
      '  warning: another warning',
    ]);
    expect(
      describeWhy({ object: 'X a', outcome: 'conflict', message: 'the object has been modified', warnings: [] })[0],
    ).toMatch(/^X a: conflict, not a denial: the object has been modified/);
  });

  it('reads Warning headers as the apiserver writes them (299 - "text")', () => {
    expect(warningText('299 - "ConfigMap a/b is locked: \\"x\\" changed"')).toBe(
      'ConfigMap a/b is locked: "x" changed',
    );
    expect(warningText('not a warn-value')).toBe('not a warn-value');
  });
});
