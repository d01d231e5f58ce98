// `bulwark test PATH...`: runs policy test files offline. Exit 0 when every case comes
// out as expected, 1 when one does not, 2 on bad input (named with its file and field
// path). The work is imported when the command runs, so `bulwark --help` stays fast.

import { Option, type Command } from 'commander';
import type { TestFormat } from './report.ts';

interface TestOptions {
  output: TestFormat;
  junitFile?: string;
  ociLayout?: string;
}

export function registerTest(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('test')
    .description('run policy test files (bulwark-test.yaml, *.bulwark-test.yaml) offline, with the webhook’s core')
    .argument('<path...>', 'test files, or directories searched for them')
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['human', 'json', 'junit']).default('human'),
    )
    .option('--junit-file <file>', 'also write a JUnit XML report to this file')
    .option('--oci-layout <dir>', 'read image signatures from this OCI image layout directory, not from registries')
    .action(async (paths: string[], options: TestOptions) => {
      const { runTests } = await import('./execute.ts');
      setExitCode(await runTests(paths, options));
    });
}
