// A steady write load through the apiserver, classified by what the caller got back: the
// figures of the HA tests (failover, both replicas down, upgrades) and of the latency
// comparison. Requests go straight to the apiserver over HTTPS (one keep-alive agent, as
// a controller's client would), as admin: kubectl's process start would dwarf admission.

import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { parse } from 'yaml';
import { httpsRequest } from '../helpers/https.ts';
import { fullCluster } from './context.ts';

/** What one write came back with. */
export type Outcome =
  | 'allowed' // 2xx
  | 'denied-by-bulwark' // 403 from a Bulwark webhook entry
  | 'denied-by-policy' // 403 from a ValidatingAdmissionPolicy
  | 'webhook-unreachable' // failurePolicy Fail: the apiserver could not call Bulwark
  | 'other';

export interface Write {
  /** PATCH path below the apiserver, e.g. /api/v1/namespaces/ns/configmaps/name. */
  path: string;
  /** Merge patch body for the n-th write. */
  patch: (n: number) => unknown;
  dryRun?: boolean;
  /** Text a denial by Bulwark must carry (a policy's message): else it counts as 'other'. */
  denialMentions?: string;
}

export interface Tally {
  counts: Record<Outcome, number>;
  /** Latencies in milliseconds, in the order the writes finished. */
  latenciesMs: number[];
  /** The first few bodies of 'other' and 'webhook-unreachable' outcomes, for the failure message. */
  samples: string[];
  /**
   * Of the 'denied-by-bulwark': denied because a replica's informers were re-syncing (a watch
   * ended, e.g. when a CRD changes: fail closed, whatever the request). Counted apart, reported.
   */
  whileSyncing: number;
}

/** Bulwark's answer while its policies are not synced (src/review/review.ts). */
const SYNCING = 'bulwark is starting: policies not yet synced';

interface ApiTarget {
  server: string;
  ca: string;
  token: string;
  agent: Agent;
}

let target: ApiTarget | undefined;

async function apiTarget(): Promise<ApiTarget> {
  if (target) return target;
  const c = fullCluster();
  const config = parse(await readFile(c.kubeconfig, 'utf8')) as {
    clusters: { cluster: { 'certificate-authority-data': string } }[];
  };
  const ca = Buffer.from(config.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64').toString('utf8');
  target = { server: c.server, ca, token: c.tokens.admin, agent: new Agent({ keepAlive: true, maxSockets: 16 }) };
  return target;
}

/** The message of a Status the apiserver answered with (JSON); the body itself otherwise. */
function statusMessage(body: string): string {
  try {
    const message = (JSON.parse(body) as { message?: unknown }).message;
    return typeof message === 'string' ? message : body;
  } catch {
    return body;
  }
}

export function classify(status: number, body: string): Outcome {
  if (status >= 200 && status < 300) return 'allowed';
  if (/failed calling webhook "[a-z]+\.bulwark\.dev"/.test(body)) return 'webhook-unreachable';
  const byBulwark = /admission webhook "[a-z]+\.bulwark\.dev" denied the request/.test(body);
  // A re-sync denial carries Bulwark's own status code (not 403): still Bulwark failing closed.
  if (byBulwark && (status === 403 || body.includes(SYNCING))) return 'denied-by-bulwark';
  // 422 unless the validation names another reason.
  if ((status === 403 || status === 422) && /ValidatingAdmissionPolicy '[^']+' with binding/.test(body))
    return 'denied-by-policy';
  return 'other';
}

export const emptyTally = (): Tally => ({
  counts: { allowed: 0, 'denied-by-bulwark': 0, 'denied-by-policy': 0, 'webhook-unreachable': 0, other: 0 },
  latenciesMs: [],
  samples: [],
  whileSyncing: 0,
});

/** One write, timed and classified into `tally`. */
export async function write(w: Write, n: number, tally: Tally): Promise<Outcome> {
  const t = await apiTarget();
  const started = performance.now();
  let outcome: Outcome;
  let body = '';
  try {
    const res = await httpsRequest(`${t.server}${w.path}${w.dryRun ? '?dryRun=All' : ''}`, {
      ca: t.ca,
      method: 'PATCH',
      body: JSON.stringify(w.patch(n)),
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/merge-patch+json' },
      agent: t.agent,
    });
    body = statusMessage(res.body);
    outcome = classify(res.status, body);
    if (outcome === 'denied-by-bulwark' && body.includes(SYNCING)) tally.whileSyncing++;
    else if (outcome === 'denied-by-bulwark' && w.denialMentions && !body.includes(w.denialMentions)) outcome = 'other';
  } catch (err) {
    body = String(err);
    outcome = 'other';
  }
  tally.latenciesMs.push(performance.now() - started);
  tally.counts[outcome]++;
  // Up to three of each kind, so that a rare kind is not crowded out by a common one.
  const kept = tally.samples.filter((sample) => sample.startsWith(`${outcome}: `)).length;
  if ((outcome === 'other' || outcome === 'webhook-unreachable') && kept < 3)
    tally.samples.push(`${outcome}: ${body.slice(0, 400)}`);
  return outcome;
}

export interface SteadyLoad {
  /** Stops the workers and returns each write's tally. */
  stop(): Promise<Tally[]>;
}

/** Keeps `workers` concurrent writers going for each of `writes`, until stop(). */
export function steadyLoad(writes: Write[], workers = 2): SteadyLoad {
  let running = true;
  const tallies = writes.map(() => emptyTally());
  let n = 0;
  const loops = writes.flatMap((w, i) =>
    Array.from({ length: workers }, async () => {
      while (running) await write(w, n++, tallies[i] as Tally);
    }),
  );
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return tallies;
    },
  };
}

/** The p-th percentile (0..100) of `values`, in the values' unit. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** `p50 / p99 ms` of a tally, for the figures printed by the tests. */
export const latencySummary = (t: Tally) =>
  `p50 ${percentile(t.latenciesMs, 50).toFixed(1)} ms, p99 ${percentile(t.latenciesMs, 99).toFixed(1)} ms ` +
  `(${t.latenciesMs.length} writes)`;
