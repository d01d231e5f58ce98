// Runs `bulwark` or `kubectl bulwark` in-process, as their bin entries call them,
// capturing what they write to stdout and stderr.

import { vi } from 'vitest';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(entry: (argv: readonly string[]) => Promise<number>, args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await entry(['node', 'bin', ...args]), stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}
