// Policies, webhook configurations and Secrets reach Bulwark a moment after they are
// stored: tests repeat a request until its answer is the one expected, or time runs out,
// and then assert on the last answer.

import { setTimeout as sleep } from 'node:timers/promises';

/** Calls `attempt` until `done` holds for its result or `timeoutMs` passes; returns the last result. */
export async function retryUntil<T>(
  attempt: () => Promise<T>,
  done: (result: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number; between?: () => Promise<unknown> } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let result = await attempt();
  while (!done(result) && Date.now() < deadline) {
    await options.between?.();
    await sleep(options.intervalMs ?? 300);
    result = await attempt();
  }
  return result;
}
