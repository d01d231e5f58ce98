// 500 slow clients (one header byte a second each, test/helpers/slow-clients.ts, in its
// own process) against the p99 of well-formed reviews. The machine is shared and swings,
// so one before/after pair proves little: each round samples quiet, loaded (while at
// least half of the slow clients are still connected), then quiet again, and compares
// the loaded p99 with the mean of the two quiet ones around it. The figure is the median
// of the rounds' ratios (goal: at most 2x, issue 13).

import { spawn } from 'node:child_process';
import { Agent, request } from 'node:https';
import { loadavg } from 'node:os';
import { join } from 'node:path';

const SLOW_CLIENTS = join(import.meta.dirname, '..', 'test', 'helpers', 'slow-clients.ts');
const ROUNDS = Number(process.env.BENCH_SLOW_ROUNDS ?? 5);
const CLIENTS = 500;
const QUIET_SAMPLES = 200;
/** A loaded window with fewer answers has no p99 worth the name (a starved machine): the round is left out. */
const MIN_LOADED_SAMPLES = 50;

function post(port: number, ca: string, body: Buffer, agent: Agent): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        ca,
        servername: 'localhost',
        method: 'POST',
        path: '/validate',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function samples(port: number, ca: string, body: Buffer, agent: Agent, most: number, stop = () => false) {
  const out: number[] = [];
  for (let i = 0; i < most && !stop(); i++) out.push(await post(port, ca, body, agent));
  return out;
}

/** NaN for no samples (a starved round; it is left out below). */
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] ?? Number.NaN;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Starts the slow clients; resolves once all have connected, with a handle on their progress. */
async function slowClients(port: number, caFile: string) {
  const child = spawn(process.execPath, [SLOW_CLIENTS, String(port), caFile, String(CLIENTS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c));
  const until = async (text: string) => {
    const deadline = Date.now() + 60_000;
    while (!output.includes(text)) {
      if (Date.now() > deadline) throw new Error(`slow clients: no "${text}" within 60 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await until('connected');
  return {
    halfClosed: () => output.includes('half closed'),
    /** Milliseconds from connection to being cut off, the longest (after all are closed). */
    async longestMs(): Promise<number> {
      await until('closedAfterMs');
      const line = output.split('\n').find((l) => l.startsWith('{'))!;
      return Math.max(...(JSON.parse(line).closedAfterMs as number[]));
    },
    stop: () => child.kill(),
  };
}

export async function benchSlowClients(port: number, ca: string, caFile: string, body: Buffer): Promise<void> {
  console.log(`\n== ${CLIENTS} slow clients (a header byte a second) against the p99 of well-formed reviews`);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const ratios: number[] = [];
  try {
    await samples(port, ca, body, agent, 200); // warm-up
    for (let round = 1; round <= ROUNDS; round++) {
      const before = p99(await samples(port, ca, body, agent, QUIET_SAMPLES));
      const slow = await slowClients(port, caFile);
      let loaded: number[];
      let longest: number;
      try {
        loaded = await samples(port, ca, body, agent, 100_000, slow.halfClosed);
        longest = await slow.longestMs();
      } finally {
        slow.stop();
      }
      const after = p99(await samples(port, ca, body, agent, QUIET_SAMPLES));
      const ratio = p99(loaded) / ((before + after) / 2);
      if (loaded.length >= MIN_LOADED_SAMPLES) ratios.push(ratio);
      console.log(
        `round ${round}: p99 quiet ${before.toFixed(2)} / ${after.toFixed(2)} ms, with slow clients ` +
          `${p99(loaded).toFixed(2)} ms (${loaded.length} samples): ${ratio.toFixed(2)}x; slow clients cut after ` +
          `at most ${longest.toFixed(0)} ms (load ${loadavg()[0]!.toFixed(1)})` +
          (loaded.length < MIN_LOADED_SAMPLES ? `; left out: under ${MIN_LOADED_SAMPLES} samples` : ''),
      );
    }
  } finally {
    agent.destroy();
  }
  console.log(
    ratios.length === 0
      ? `   p99 with ${CLIENTS} slow clients / quiet: no round had ${MIN_LOADED_SAMPLES} samples (machine too busy)`
      : `   p99 with ${CLIENTS} slow clients / quiet, median of ${ratios.length} of ${ROUNDS} rounds: ` +
          `${median(ratios).toFixed(2)}x (goal: at most 2x; rounds ${ratios.map((r) => r.toFixed(2)).join(', ')})`,
  );
}
