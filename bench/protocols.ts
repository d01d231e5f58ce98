// HTTP/2 against HTTP/1.1 at the webhook itself, without the apiserver: `bulwark serve`
// with and without --http2=false, alternated, each driven by a Node client the way the
// apiserver drives it (HTTP/2: one session, reviews as concurrent streams; HTTP/1.1: a
// kept-alive pool of one connection per review in flight). Reports throughput, latency
// and the server's CPU per review (from /proc, so the client's share is left out).

import { Agent, request } from 'node:https';
import { loadavg } from 'node:os';
import { h2Connect } from '../test/helpers/http2.ts';
import { startServeProcess } from '../test/helpers/serve-process.ts';
import { pct } from './images.ts';
import { cpuMs } from './process-cpu.ts';

const REVIEWS = Number(process.env.BENCH_PROTOCOL_REVIEWS ?? 2000);

async function sender(http2: boolean, port: number, ca: string, concurrency: number) {
  const headers = (body: Buffer) => ({ 'content-type': 'application/json', 'content-length': body.length });
  if (http2) {
    const session = await h2Connect(`https://127.0.0.1:${port}`, { ca });
    const send = (body: Buffer) =>
      new Promise<void>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': '/validate', ...headers(body) });
        stream.on('data', () => {});
        stream.on('end', resolve);
        stream.on('error', reject);
        stream.end(body);
      });
    return { send, close: () => session.close() };
  }
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca, servername: 'localhost' });
  const send = (body: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: '/validate', agent, headers: headers(body) },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}

async function run(http2: boolean, body: Buffer, concurrency: number): Promise<string> {
  const server = await startServeProcess(['--http2', String(http2), '--log-level', 'info']);
  const idleMiB = await server.rssMiB();
  const client = await sender(http2, server.port, server.ca, concurrency);
  try {
    for (let i = 0; i < 300; i++) await client.send(body); // warm-up
    const cpuBefore = cpuMs(server.child.pid!);
    const started = performance.now();
    const times: number[] = [];
    let next = 0;
    const worker = async () => {
      while (next++ < REVIEWS) {
        const t = performance.now();
        await client.send(body);
        times.push(performance.now() - t);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - started) / 1000;
    const cpuUs = ((cpuMs(server.child.pid!) - cpuBefore) * 1000) / REVIEWS;
    times.sort((a, b) => a - b);
    return (
      `   ${(http2 ? 'HTTP/2' : 'HTTP/1.1').padEnd(9)} ${String(concurrency).padStart(2)} in flight: ` +
      `${(REVIEWS / seconds).toFixed(0).padStart(5)} reviews/s, ` +
      `server CPU ${cpuUs.toFixed(0).padStart(4)} us/review, ` +
      `p50 ${pct(times, 50).toFixed(2)} ms, p99 ${pct(times, 99).toFixed(2)} ms; RSS idle ${idleMiB.toFixed(0)} MiB, ` +
      `after ${(await server.rssMiB()).toFixed(0)} MiB (load ${loadavg()[0]!.toFixed(1)})`
    );
  } finally {
    client.close();
    await server.stop();
  }
}

export async function benchProtocols(body: Buffer): Promise<void> {
  console.log(`\n== HTTP/2 and HTTP/1.1 at the webhook (bulwark serve, ${REVIEWS} reviews a run, alternated)`);
  for (const concurrency of [1, 8])
    for (const http2 of [false, true, false, true]) console.log(await run(http2, body, concurrency));
}
