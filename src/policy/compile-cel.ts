// Attestation conditions in CEL, compiled when an ImagePolicy changes (never per
// request): parsed and type-checked against the two variables they may read,
// `predicate` (the in-toto statement's predicate, a map) and `now` (the request time,
// a timestamp, so that freshness is judged at decision time even on a cached result).
// An expression that does not parse, or is not a bool, is a problem with its path.

import { Environment } from '@marcbachmann/cel-js';
import type { FieldProblem } from '../errors.ts';
import type { CompiledCondition } from './compiled.ts';

const environment = new Environment({
  limits: { maxAstNodes: 2000, maxDepth: 64, maxListElements: 256, maxMapEntries: 256, maxCallArguments: 16 },
})
  .registerVariable('predicate', 'map')
  .registerVariable('now', 'google.protobuf.Timestamp');

/**
 * A condition that does not read `now` has one outcome per predicate: the warm path (a
 * cached verification, the same predicate objects on every request) evaluates it once.
 * Any mention of `now` in the text, even inside a string, keeps it evaluated every time.
 * Predicates are never changed once verified (they are shared by the cached result), and
 * an outcome lives as long as its predicate (a WeakMap).
 */
function memoizedUnlessTimed(
  expression: string,
  judge: (predicate: unknown, now: Date) => true | string,
): (predicate: unknown, now: Date) => true | string {
  if (/\bnow\b/.test(expression)) return judge;
  const outcomes = new WeakMap<object, true | string>();
  return (predicate, now) => {
    if (typeof predicate !== 'object' || predicate === null) return judge(predicate, now);
    let outcome = outcomes.get(predicate);
    if (outcome === undefined) {
      outcome = judge(predicate, now);
      outcomes.set(predicate, outcome);
    }
    return outcome;
  };
}

/** One condition, or the problem at `path`. */
export function compileCondition(
  expression: string,
  message: string | undefined,
  path: string,
): { condition: CompiledCondition } | { problem: FieldProblem } {
  let program: ReturnType<typeof environment.parse>;
  try {
    program = environment.parse(expression);
    const checked = program.check();
    if (!checked.valid) return { problem: { path, message: `does not type-check: ${checked.error?.message}` } };
    if (checked.type !== 'bool' && checked.type !== 'dyn')
      return { problem: { path, message: `is of type ${checked.type}; a condition must be a bool` } };
  } catch (err) {
    return { problem: { path, message: `is not valid CEL: ${(err as Error).message.split('\n')[0]}` } };
  }
  const judge = (predicate: unknown, now: Date): true | string => {
    try {
      const value: unknown = program({ predicate: predicate ?? {}, now });
      return value === true ? true : `is ${JSON.stringify(value)}`;
    } catch (err) {
      // A missing field or a wrong type in the predicate: false, with the reason.
      return `cannot be evaluated: ${(err as Error).message.split('\n')[0]}`;
    }
  };
  return {
    condition: { expression, ...(message ? { message } : {}), evaluate: memoizedUnlessTimed(expression, judge) },
  };
}
