// `bulwark` command line: one entry, subcommands. Returns the process exit code.

import { Command, CommanderError } from 'commander';
import { registerReview } from './review.ts';
import { registerServe } from './serve.ts';

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('bulwark')
    .description('Kubernetes admission webhook: write-once resources and verified image digests')
    .showHelpAfterError()
    .exitOverride();
  registerServe(program);
  registerReview(program, (code) => { exitCode = code; });
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  return exitCode;
}
