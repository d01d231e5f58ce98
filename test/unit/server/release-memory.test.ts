// Start-up memory is released once, when the webhook is first ready, with a memory-reducing
// collection; never before, never again, and not at all where gc is not exposed. The leader
// releases the same way after each audit scan (releaseMemoryNow).

import { describe, expect, it } from 'vitest';
import { type GcFunction, releaseMemoryNow, releaseStartupMemory } from '../../../src/server/release-memory.ts';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('releaseStartupMemory', () => {
  it('collects once, memory-reducing, when readiness first holds', async () => {
    const calls: unknown[] = [];
    let ready = false;
    const stop = releaseStartupMemory({ ready: () => ready, gc: (o) => calls.push(o), intervalMs: 5 });
    await tick(30);
    expect(calls).toEqual([]);
    ready = true;
    await tick(30);
    ready = false;
    await tick(10);
    ready = true;
    await tick(30);
    expect(calls).toEqual([{ type: 'major', execution: 'async', flavor: 'last-resort' }]);
    stop();
  });

  it('does nothing after stop (a webhook shut down before it was ready)', async () => {
    const calls: unknown[] = [];
    const stop = releaseStartupMemory({ ready: () => true, gc: (o) => calls.push(o), intervalMs: 5 });
    stop();
    await tick(30);
    expect(calls).toEqual([]);
  });

  it('uses the gc that node --expose-gc defines, and without one does nothing', async () => {
    const global = globalThis as { gc?: GcFunction };
    const exposed = global.gc;
    const calls: unknown[] = [];
    try {
      global.gc = (o) => calls.push(o);
      releaseStartupMemory({ ready: () => true, intervalMs: 5 });
      await tick(30);
      expect(calls).toHaveLength(1);
      delete global.gc;
      releaseStartupMemory({ ready: () => true, intervalMs: 5 });
      await tick(30);
      expect(calls).toHaveLength(1);
    } finally {
      if (exposed) global.gc = exposed;
    }
  });
});

describe('releaseMemoryNow (after each audit scan of the leader)', () => {
  it('collects at once, memory-reducing; without gc it does nothing', () => {
    const calls: unknown[] = [];
    releaseMemoryNow((o) => calls.push(o));
    expect(calls).toEqual([{ type: 'major', execution: 'async', flavor: 'last-resort' }]);
    expect(() => releaseMemoryNow(undefined)).not.toThrow();
  });
});
