// `bulwark serve` as a child process on an ephemeral port, with its JSON log lines
// collected: for tests that measure the process (its memory) or must not share an event
// loop with the clients they run.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'bulwark.js');

export interface ServeProcess {
  child: ChildProcess;
  port: number;
  ca: string;
  caFile: string;
  lines: Record<string, unknown>[];
  /** The resident set's peak so far (VmHWM), in MiB. */
  peakRssMiB(): Promise<number>;
  rssMiB(): Promise<number>;
  stop(): Promise<void>;
}

async function statusField(pid: number, field: string): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return kb / 1024;
}

export async function startServeProcess(args: string[] = [], nodeArgs: string[] = []): Promise<ServeProcess> {
  const certDir = await mkdtemp(join(tmpdir(), 'bulwark-serve-'));
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      BIN,
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--cluster',
      'none',
      '--cert-dir',
      certDir,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout!.on('data', (c: Buffer) => {
    buffered += c.toString();
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      lines.push(JSON.parse(buffered.slice(0, i)));
      buffered = buffered.slice(i + 1);
    }
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!lines.some((l) => typeof l.port === 'number')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('bulwark serve did not start listening');
    await new Promise((r) => setTimeout(r, 50));
  }
  const port = lines.find((l) => typeof l.port === 'number')!.port as number;
  const ca = await readFile(join(certDir, 'ca.crt'), 'utf8');
  return {
    child,
    port,
    ca,
    caFile: join(certDir, 'ca.crt'),
    lines,
    peakRssMiB: () => statusField(child.pid!, 'VmHWM'),
    rssMiB: () => statusField(child.pid!, 'VmRSS'),
    async stop() {
      child.kill('SIGTERM');
      await exited;
      await rm(certDir, { recursive: true, force: true });
    },
  };
}
