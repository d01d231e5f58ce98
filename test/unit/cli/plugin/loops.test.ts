import { describe, expect, it } from 'vitest';
import { describeLoops } from '../../../../src/cli/plugin/loops.ts';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const lease = (renewTime: string | undefined, holderIdentity: string | undefined = 'bulwark-7d9-abc-1') => ({
  metadata: { namespace: 'bulwark-system' },
  spec: {
    ...(holderIdentity ? { holderIdentity } : {}),
    ...(renewTime ? { renewTime } : {}),
    leaseDurationSeconds: 15,
  },
});

describe('describeLoops', () => {
  it('a Lease renewed within its duration: the loops run, on its holder', () => {
    expect(describeLoops([lease('2026-11-29T11:59:56.123456Z')], NOW)).toEqual([
      'Loops: run by bulwark-7d9-abc-1 in namespace bulwark-system (Lease renewed 4 s ago)',
    ]);
  });

  it('a Lease not renewed for longer than its duration: PAUSED, naming the last holder and the alert', () => {
    const [line] = describeLoops([lease('2026-11-29T11:58:00Z')], NOW);
    expect(line).toBe(
      'Loops PAUSED in namespace bulwark-system: no replica holds the Lease bulwark-controllers (last renewed ' +
        '120 s ago by bulwark-7d9-abc-1, lease 15 s): nothing is sealed, audited or reported until one does ' +
        '(alert BulwarkLoopsPaused; metric bulwark_controller_lease)',
    );
  });

  it('a Lease without a holder or a renewal time is paused too', () => {
    const empty = { metadata: { namespace: 'bulwark-system' }, spec: { leaseDurationSeconds: 15 } };
    expect(describeLoops([empty], NOW)[0]).toMatch(/^Loops PAUSED .*\(last renewed never, lease 15 s\)/);
  });

  it('no Lease at all: the loops never ran', () => {
    expect(describeLoops([], NOW)).toEqual([
      "Loops: no Lease bulwark-controllers in any namespace: Bulwark's loops have never run (no cluster connection?)",
    ]);
  });
});
