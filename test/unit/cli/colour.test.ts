// Colour only for a person at a terminal: on a TTY unless NO_COLOR is set (to anything
// non-empty) or TERM is dumb; never when piped, unless FORCE_COLOR asks for it. And the
// human report of `bulwark test` carries ANSI codes only when colour is on.

import { describe, expect, it } from 'vitest';
import { paint, wantsColour } from '../../../src/cli/output/colour.ts';
import { humanReport } from '../../../src/cli/test/report.ts';

const tty = { isTTY: true };
const pipe = { isTTY: false };

describe('colour', () => {
  it('is on at a terminal, off when piped', () => {
    expect(wantsColour(tty, {})).toBe(true);
    expect(wantsColour(pipe, {})).toBe(false);
    expect(wantsColour(tty, { TERM: 'dumb' })).toBe(false);
  });

  it('honours NO_COLOR (any non-empty value) and FORCE_COLOR', () => {
    expect(wantsColour(tty, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColour(tty, { NO_COLOR: '' })).toBe(true);
    expect(wantsColour(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(wantsColour(pipe, { FORCE_COLOR: '0' })).toBe(false);
    expect(wantsColour(tty, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(false);
  });

  it('paints the report only when on', () => {
    const results = [
      { suite: 's', file: 's', name: 'c', passed: false, allowed: true, warnings: [], failures: ['x'], durationMs: 1 },
    ];
    expect(humanReport(results, paint(true))).toContain('\u001b[31mFAIL\u001b[39m');
    expect(humanReport(results, paint(false))).not.toContain('\u001b[');
  });
});
