// `bulwark review [FILE|-]`: decide one AdmissionReview offline with the same code the
// server runs, or one built from manifests (--old/--new, --parent with --subresource),
// with the namespace's labels given. Prints the response review; exit 0 allowed, 1
// denied, 2 bad input. The work is imported when the command runs (start-up time).

import { InvalidArgumentError, Option, type Command } from 'commander';
import { addPolicyOptions } from './options.ts';
import type { ReviewOptions } from './review-run.ts';

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('not a replica count');
  return n;
}

export function registerReview(program: Command, setExitCode: (code: number) => void): void {
  addPolicyOptions(
    program
      .command('review')
      .description('decide an AdmissionReview (a file, - for stdin) or a manifest pair and print the response'),
  )
    .argument('[file]', 'AdmissionReview JSON file, or - for standard input')
    .option('--old <file>', 'the object as it is in the cluster (YAML or JSON manifest)')
    .option('--new <file>', 'the object as it would be written')
    .option('--parent <file>', 'for --subresource scale or eviction: the Deployment, Pod, ... acted on')
    .addOption(
      new Option('--subresource <name>', 'a scale or eviction request on --parent').choices(['scale', 'eviction']),
    )
    .addOption(new Option('--replicas <n>', 'for --subresource scale: the new replica count').argParser(count))
    .addOption(
      new Option('--operation <op>', 'default: from the manifests given').choices(['CREATE', 'UPDATE', 'DELETE']),
    )
    .option('--user <name>', 'who makes the request (default bulwark-test)')
    .option('--groups <groups>', 'comma-separated groups of --user')
    .option('--namespace-labels <k=v,...>', "labels of the object's namespace, for namespaceSelector policies")
    .option('--oci-layout <dir>', 'read image signatures from this OCI image layout directory, not from registries')
    .action(async (file: string | undefined, options: ReviewOptions) => {
      const { runReview } = await import('./review-run.ts');
      setExitCode(await runReview(file, options));
    });
}
