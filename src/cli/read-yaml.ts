// YAML documents of the files the command line reads in bulk (test suites, manifests,
// snapshots), parsed with js-yaml: about five times faster than the `yaml` package on a
// 1,000-case suite, which is most of `bulwark test`'s time there. (Policies keep the
// webhook's parser: src/policy/load-files.ts.)

import { readFile } from 'node:fs/promises';
import { CORE_SCHEMA, loadAll } from 'js-yaml';
import { BaseError, messageOf } from '../errors.ts';

/** The non-empty documents of `text`; a syntax error names `where` and the line. */
export function yamlDocuments(text: string, where: string): unknown[] {
  try {
    // The core schema, as the webhook's parser reads YAML: an unquoted time stays a string, not a Date.
    return loadAll(text, { schema: CORE_SCHEMA }).filter((d) => d !== null && d !== undefined);
  } catch (err) {
    throw new BaseError('CLI_USAGE', `${where}: not valid YAML: ${messageOf(err).split('\n')[0]}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The documents of `file`; `-` is standard input. */
export async function readYamlFile(file: string): Promise<unknown[]> {
  const text = await (file === '-' ? readStdin() : readFile(file, 'utf8')).catch((err: unknown) => {
    throw new BaseError('CLI_USAGE', `cannot read ${file}: ${messageOf(err)}`);
  });
  return yamlDocuments(text, file);
}
