// Hot and cold: Bulwark (`bulwark serve`, HTTP/1.1) and the Node floor (bench/noop-responder.ts
// lock: parse the review, deny) answer the same denied ConfigMap review, one request at a time,
// back to back and then with a pause between requests. Through kube-apiserver a webhook is
// called between other work, and its code runs cold: caches and branch predictors hold the
// apiserver's and etcd's work, and an idle vCPU wakes slowly. The pause reproduces that at the
// webhook, without the apiserver's noise. `BENCH_ONLY=cold npm run bench` prints, per pace,
// each server's p50 round trip, Bulwark minus the floor, and Bulwark's own handler time (its log).
// BENCH_COLD_PAUSES=0,5 (ms), BENCH_COLD_REQUESTS=600 and BENCH_COLD_ARGS (more `bulwark serve`
// arguments, e.g. `--warm-up-rounds 0`) change what it runs.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { writeGeneratedCertificates } from '../src/server/certificate-files.ts';
import { startServeProcess } from '../test/helpers/serve-process.ts';
import { pct } from './images.ts';
import { benchTempDir } from './temp.ts';

const ROOT = join(import.meta.dirname, '..');
const REQUESTS = Number(process.env.BENCH_COLD_REQUESTS ?? 600);
const PAUSES_MS = (process.env.BENCH_COLD_PAUSES ?? '0,5').split(',').map(Number);

interface Target {
  name: string;
  port: number;
  agent: Agent;
}

function roundTrip(target: Target, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(
      {
        host: '127.0.0.1',
        port: target.port,
        agent: target.agent,
        method: 'POST',
        path: '/validate',
        servername: 'localhost',
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(Number(process.hrtime.bigint() - started) / 1e6));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function startFloor(certFile: string, keyFile: string) {
  const child = spawn(process.execPath, ['bench/noop-responder.ts', '0', certFile, keyFile, 'lock'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the floor exited with ${code}`)));
    child.stdout!.on('data', (c: Buffer) => {
      const ready = /ready (\d+)/.exec(c.toString());
      if (ready) resolve(Number(ready[1]));
    });
  });
  return { child, port };
}

export async function benchCold(): Promise<void> {
  console.log('\n== Hot and cold: one denied ConfigMap review at a time, back to back and with a pause between');
  const body = readFileSync(join(ROOT, 'test', 'fixtures', 'reviews', 'configmap-apply-changed.json'));
  const tls = await writeGeneratedCertificates(benchTempDir('bulwark-bench-cold-'));
  const floor = await startFloor(tls.certFile, tls.keyFile);
  const serve = await startServeProcess(['--log-level', 'info', ...(process.env.BENCH_COLD_ARGS?.split(' ') ?? [])]);
  const targets: Target[] = [
    {
      name: 'floor',
      port: floor.port,
      agent: new Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(tls.caFile) }),
    },
    { name: 'bulwark', port: serve.port, agent: new Agent({ keepAlive: true, maxSockets: 1, ca: serve.ca }) },
  ];
  try {
    for (const pause of PAUSES_MS) {
      const times: number[][] = [[], []];
      const logged = serve.lines.length;
      for (let i = -100; i < REQUESTS; i++) {
        // Alternate which server goes first, so neither always follows the other.
        for (const k of i % 2 ? [0, 1] : [1, 0]) {
          if (pause) await new Promise((r) => setTimeout(r, pause));
          const ms = await roundTrip(targets[k]!, body);
          if (i >= 0) times[k]!.push(ms);
        }
      }
      const [floorP50, bulwarkP50] = times.map((t) =>
        pct(
          t.sort((a, b) => a - b),
          50,
        ),
      ) as [number, number];
      // The last REQUESTS denials Bulwark logged are this pace's counted ones.
      const handler = serve.lines
        .slice(logged)
        .map((l) => l.ms)
        .filter((v): v is number => typeof v === 'number')
        .slice(-REQUESTS)
        .sort((a, b) => a - b);
      console.log(
        `   ${`pause ${pause} ms`.padEnd(12)} round trip p50: floor ${floorP50.toFixed(3)} ms, Bulwark ` +
          `${bulwarkP50.toFixed(3)} ms, Bulwark - floor ${(bulwarkP50 - floorP50).toFixed(3)} ms; ` +
          `Bulwark's handler p50 ${pct(handler, 50).toFixed(3)} ms`,
      );
    }
  } finally {
    for (const t of targets) t.agent.destroy();
    floor.child.kill('SIGTERM');
    await serve.stop();
  }
}

if (import.meta.filename === process.argv[1]) await benchCold();
