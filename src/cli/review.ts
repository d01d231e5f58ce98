// `bulwark review FILE|-`: decide one AdmissionReview offline with the same code the
// server runs. Prints the response review; exit 0 allowed, 1 denied, 2 bad input.

import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { createReviewDecoder } from '../admission/decode.ts';
import { loadConfig } from '../config/load.ts';
import { defaultPolicyOf, policyAdminsOf } from '../config/default-policy.ts';
import { decide, noClusterFacts } from '../review/decide.ts';
import { isBulwarkError } from '../errors.ts';
import { loadPolicyFiles } from '../policy/load-files.ts';
import { createPolicyCompiler } from '../policy/compiler.ts';
import { PolicyStore } from '../policy/store.ts';
import { createRegistryClient } from '../registry/client.ts';
import { withImageFacts } from '../image-verification/gather.ts';
import { tagResolver } from '../image-verification/resolve-tag.ts';
import { createVerifier } from '../image-verification/verify.ts';
import { addPolicyOptions, toOverrides, type ParsedOptions } from './options.ts';

async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function registerReview(program: Command, setExitCode: (code: number) => void): void {
  addPolicyOptions(
    program
      .command('review')
      .description('decide an AdmissionReview from a file (or - for stdin) and print the response'),
  )
    .argument('<file>', 'AdmissionReview JSON file, or - for standard input')
    .action(async (file: string, options: ParsedOptions) => {
      try {
        const config = await loadConfig({ file: options.config, overrides: toOverrides(options) });
        const store = new PolicyStore({
          compiler: createPolicyCompiler(),
          lockLabel: config.lockLabel,
          defaultImmutability: defaultPolicyOf(config),
          policyAdmins: policyAdminsOf(config),
          sources: [],
        });
        if (config.policiesDir) await loadPolicyFiles(store, config.policiesDir);
        const review = createReviewDecoder().parse(await readInput(file));
        const registry = createRegistryClient();
        const resolveFacts = withImageFacts(noClusterFacts, {
          verify: createVerifier({ registry, lockLabel: config.lockLabel }),
          resolveTag: tagResolver(registry, undefined),
          timeoutMs: config.decisionTimeoutSeconds * 1000,
        });
        const decided = await decide(review, { snapshot: () => store.snapshot(), resolveFacts });
        registry.close();
        process.stdout.write(`${JSON.stringify(decided.review, null, 2)}\n`);
        setExitCode(decided.review.response.allowed ? 0 : 1);
      } catch (err) {
        const message = isBulwarkError(err) ? err.message : `cannot read ${file}: ${(err as Error).message}`;
        process.stderr.write(`bulwark review: ${message}\n`);
        setExitCode(2);
      }
    });
}
