// `bulwark check -f DIR|FILE [--base DIR|FILE]` and `bulwark snapshot`. Exit 0 when every change would be
// allowed, 1 when one would be denied, 2 on bad input. The work is imported when the
// command runs, so `bulwark --help` stays fast.

import { Option, type Command } from 'commander';

export interface CheckOptions {
  filename: string[];
  base?: string[];
  ociLayout?: string;
  snapshot?: string;
  cluster?: boolean;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  output: 'human' | 'json';
  now?: string;
}

export interface SnapshotOptions {
  output?: string;
  kubeconfig?: string;
  context?: string;
  labelKey?: string;
  labelValue?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerCheck(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('check')
    .description('would applying these manifests be allowed? Lists locked objects that would change and the unlock')
    .requiredOption('-f, --filename <path>', 'manifest file or directory (repeatable)', collect)
    .option(
      '--base <path>',
      'the manifests before the change (repeatable): objects only they name are deleted',
      collect,
    )
    .option('--oci-layout <dir>', 'read image signatures from this OCI image layout directory, not from registries')
    .option('--snapshot <file>', 'decide against a snapshot written by `bulwark snapshot`')
    .option('--cluster', 'decide against the cluster of the current kubeconfig (read-only)')
    .option('--kubeconfig <file>', 'with --cluster: kubeconfig file')
    .option('--context <name>', 'with --cluster: kubeconfig context')
    .option('-n, --namespace <ns>', 'namespace of manifests that name none (default: default)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['human', 'json']).default('human'))
    .option('--now <time>', 'judge unlock expiries at this RFC 3339 time (default: now)')
    .action(async (options: CheckOptions) => {
      const { runCheck } = await import('./execute.ts');
      setExitCode(await runCheck(options));
    });

  program
    .command('snapshot')
    .description('write what `bulwark check` needs from the cluster (policies, unlocks, locked objects) to a file')
    .option('-o, --output <file>', 'file to write (default: standard output)')
    .option('--kubeconfig <file>', 'kubeconfig file')
    .option('--context <name>', 'kubeconfig context')
    .option('--label-key <key>', "the lock label's key (default: what Bulwark's webhook selects on)")
    .option('--label-value <value>', "the lock label's value")
    .action(async (options: SnapshotOptions) => {
      const { runSnapshot } = await import('./execute.ts');
      setExitCode(await runSnapshot(options));
    });
}
