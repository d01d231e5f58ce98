// A bound change (spec.change.patch) must mean the same number in every reader. Admission
// reads an UnlockRequest exactly (raw leaves for numbers a double cannot hold), but the
// informers that serve it at use time read it with JSON.parse, which turns 9007199254740993
// into 9007199254740992: approved for ...993, the unlock would then match a write of ...992,
// which nobody approved. So a number that either reader could read differently (a raw leaf,
// or an integer beyond 2^53 - 1, where doubles skip integers) makes the bound change invalid:
// refused with this message at admission, and never in force if stored while Bulwark was away.

import { isRawNumber } from '../json/numbers.ts';

/** The path and text of the first number in `value` that is not read the same everywhere. */
export function firstInexactNumber(value: unknown, path: string): { path: string; literal: string } | undefined {
  // An explicit stack: a patch value may be nested deeper than the call stack allows.
  const pending: [unknown, string][] = [[value, path]];
  while (pending.length > 0) {
    const [v, at] = pending.pop()!;
    if (isRawNumber(v)) return { path: at, literal: v.rawJSON };
    if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v))
      return { path: at, literal: String(v) };
    if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) pending.push([item, `${at}[${i}]`]);
    } else if (typeof v === 'object' && v !== null) {
      for (const [key, item] of Object.entries(v)) pending.push([item, `${at}.${key}`]);
    }
  }
  return undefined;
}

export function inexactNumberMessage(literal: string): string {
  return (
    `holds the number ${literal}, which Bulwark cannot read the same way everywhere (integers beyond ` +
    `2^53 - 1, or more digits than a double holds): a bound change must not hold one; bind another ` +
    `change, or unlock without spec.change`
  );
}
