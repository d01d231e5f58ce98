// A deep copy of a JSON value without recursion. `structuredClone` refuses the raw
// number leaves of the lossless parser and recurses natively; this copies containers
// with an explicit stack and shares leaves (raw numbers are frozen, so sharing is safe;
// anything that is not JSON, such as a Date, is shared as it is).

import { isRawNumber } from './numbers.ts';

/** Arrays and plain objects are copied; anything else (a raw number, a Date) is shared. */
function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  if (typeof value !== 'object' || value === null || isRawNumber(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return Array.isArray(value) || prototype === Object.prototype || prototype === null;
}

function emptyLike(value: Record<string, unknown> | unknown[]): Record<string, unknown> | unknown[] {
  return Array.isArray(value) ? new Array<unknown>(value.length) : {};
}

function put(target: Record<string, unknown> | unknown[], key: string | number, value: unknown): void {
  // Define rather than assign a `__proto__` key: it must stay a key, as JSON.parse makes it.
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else (target as Record<string | number, unknown>)[key] = value;
}

export function cloneJson<T>(value: T): T {
  if (!isContainer(value)) return value;
  const root = emptyLike(value);
  const pending: [Record<string, unknown> | unknown[], Record<string, unknown> | unknown[]][] = [[value, root]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [source, target] = next;
    const keys = Array.isArray(source) ? source.keys() : Object.keys(source);
    for (const key of keys) {
      const child = (source as Record<string | number, unknown>)[key];
      if (isContainer(child)) {
        const copy = emptyLike(child);
        put(target, key, copy);
        pending.push([child, copy]);
      } else {
        put(target, key, child);
      }
    }
  }
  return root as T;
}
