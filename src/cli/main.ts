// `bulwark` command line: one entry, subcommands. Returns the process exit code.

import { Command, CommanderError } from 'commander';
import { isBulwarkError } from '../errors.ts';
import { registerCheck } from './check/command.ts';
import { registerCompletion } from './completion.ts';
import { registerPluginCommands } from './plugin/register.ts';
import { registerReview } from './review.ts';
import { registerServe } from './serve.ts';
import { registerTest } from './test/command.ts';
import { bulwarkVersion } from './version.ts';

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('bulwark')
    .description('Kubernetes admission webhook: write-once resources and verified image digests')
    .version(bulwarkVersion(), '-v, --version')
    .showHelpAfterError()
    .exitOverride();
  registerServe(program);
  registerReview(program, (code) => {
    exitCode = code;
  });
  registerTest(program, (code) => {
    exitCode = code;
  });
  registerCheck(program, (code) => {
    exitCode = code;
  });
  registerPluginCommands(
    program,
    (line) => process.stdout.write(`${line}\n`),
    (code) => {
      exitCode = code;
    },
  );
  registerCompletion(program, 'bulwark', (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (isBulwarkError(err, 'CLI_USAGE')) {
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  return exitCode;
}
