// Throughput with wrk (Debian package `wrk`) when it is installed: a C load generator
// leaves the second core to the server, where a Node generator would compete for it
// and hide the server's own cost. Falls back to the Node closed loop otherwise.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function wrkAvailable(): boolean {
  return spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined;
}

/** Requests/s of POST /validate with `body` over `connections` keep-alive TLS connections. */
export function wrkThroughput(port: number, body: Buffer, opts: { connections: number; seconds: number }): number {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-wrk-'));
  writeFileSync(join(dir, 'body.json'), body);
  writeFileSync(join(dir, 'post.lua'), [
    'wrk.method = "POST"',
    `local f = io.open("${join(dir, 'body.json')}", "rb"); wrk.body = f:read("*a"); f:close()`,
    'wrk.headers["Content-Type"] = "application/json"',
  ].join('\n'));
  const r = spawnSync('wrk', ['-t1', `-c${opts.connections}`, `-d${opts.seconds}s`, '-s', join(dir, 'post.lua'), `https://127.0.0.1:${port}/validate`], { encoding: 'utf8' });
  const match = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  if (!match) throw new Error(`wrk failed: ${r.stderr || r.stdout}`);
  if (/Non-2xx/.test(r.stdout)) throw new Error(`wrk saw non-2xx answers: ${r.stdout}`);
  return Number(match[1]);
}
