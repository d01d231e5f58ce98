// The body of `bulwark test`: find the files, load every suite (all input problems are
// reported before anything runs), run the cases, print the report. Returns the exit code.

import { writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { isBulwarkError, messageOf } from '../../errors.ts';
import { createPolicyCompiler } from '../../policy/compiler.ts';
import { paint, wantsColour } from '../output/colour.ts';
import { humanReport, jsonReport, junitReport, type TestFormat } from './report.ts';
import type { RegistryClient } from '../../registry/client.ts';
import { signatureSource } from '../image-facts.ts';
import { runSuite, type CaseResult } from './run.ts';
import { findSuiteFiles, loadSuite, type LoadedSuite } from './suite.ts';

export interface RunTestsOptions {
  output: TestFormat;
  junitFile?: string;
  /** An OCI image layout directory to read signatures from instead of registries. */
  ociLayout?: string;
  /** The time for unlock expiries when a test file sets none (default: now). */
  nowMs?: number;
}

export async function runTests(paths: readonly string[], options: RunTestsOptions): Promise<number> {
  const compiler = createPolicyCompiler();
  const suites: LoadedSuite[] = [];
  const problems: string[] = [];
  for (const path of paths) {
    try {
      const files = await findSuiteFiles(path);
      if (files.length === 0) problems.push(`${path}: no bulwark-test.yaml or *.bulwark-test.yaml files`);
      for (const file of files) {
        try {
          suites.push(await loadSuite(file, compiler, relative(process.cwd(), file) || file));
        } catch (err) {
          if (!isBulwarkError(err)) throw err;
          problems.push(err.message);
        }
      }
    } catch (err) {
      if (!isBulwarkError(err)) throw err;
      problems.push(err.message);
    }
  }
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`bulwark test: ${p}\n`);
    return 2;
  }
  const nowMs = options.nowMs ?? Date.now();
  const results: CaseResult[] = [];
  // A layout given is read (and checked) before anything runs; a registry client only when needed.
  let source: Promise<RegistryClient> | undefined;
  const signatures = () => (source ??= signatureSource(options.ociLayout));
  try {
    if (options.ociLayout) await signatures();
    for (const suite of suites) results.push(...(await runSuite(suite, nowMs, signatures)));
  } catch (err) {
    if (!isBulwarkError(err, 'OCI_LAYOUT_INVALID')) throw err;
    process.stderr.write(`bulwark test: ${err.message}\n`);
    return 2;
  } finally {
    if (source) (await source.catch(() => undefined))?.close();
  }
  const report =
    options.output === 'json'
      ? jsonReport(results)
      : options.output === 'junit'
        ? junitReport(results)
        : humanReport(results, paint(wantsColour(process.stdout)));
  process.stdout.write(report);
  if (options.junitFile) {
    try {
      await writeFile(options.junitFile, junitReport(results));
    } catch (err) {
      process.stderr.write(`bulwark test: cannot write ${options.junitFile}: ${messageOf(err)}\n`);
      return 2;
    }
  }
  return results.every((r) => r.passed) ? 0 : 1;
}
