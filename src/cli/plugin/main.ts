// `kubectl bulwark ...`: the plugin entry, sharing its commands with `bulwark`.

import { Command, CommanderError } from 'commander';
import { isBulwarkError } from '../../errors.ts';
import { registerCompletion } from '../completion.ts';
import { bulwarkVersion } from '../version.ts';
import { registerPluginCommands } from './register.ts';

export async function plugin(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('kubectl bulwark')
    .description('lock objects, request and approve unlocks, see what is locked and why a change is refused')
    .version(bulwarkVersion(), '-v, --version')
    .showHelpAfterError()
    .exitOverride();
  registerPluginCommands(
    program,
    (line) => process.stdout.write(`${line}\n`),
    (code) => {
      exitCode = code;
    },
  );
  registerCompletion(program, 'kubectl-bulwark', (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (isBulwarkError(err)) {
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  return exitCode;
}
