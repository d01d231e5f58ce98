// `bulwark test` output: for people (one line a case, the reasons of failures), JSON for
// scripts, and JUnit XML, which GitHub Actions, GitLab and Jenkins render as test results.

import type { Paint } from '../output/colour.ts';
import type { CaseResult } from './run.ts';

export type TestFormat = 'human' | 'json' | 'junit';

export function humanReport(results: readonly CaseResult[], p: Paint): string {
  const lines: string[] = [];
  let file = '';
  for (const r of results) {
    if (r.file !== file) {
      file = r.file;
      lines.push(p.bold(r.suite === r.file ? r.file : `${r.suite} (${r.file})`));
    }
    const outcome = r.allowed ? 'allowed' : 'denied';
    lines.push(`  ${r.passed ? p.green('PASS') : p.red('FAIL')} ${r.name} ${p.dim(`(${outcome})`)}`);
    for (const f of r.failures) lines.push(`       ${f}`);
  }
  const failed = results.filter((r) => !r.passed).length;
  const summary = `${results.length - failed} passed, ${failed} failed, ${results.length} cases`;
  lines.push(failed > 0 ? p.red(summary) : p.green(summary));
  return `${lines.join('\n')}\n`;
}

export function jsonReport(results: readonly CaseResult[]): string {
  const failed = results.filter((r) => !r.passed).length;
  return `${JSON.stringify({ passed: results.length - failed, failed, cases: results }, null, 2)}\n`;
}

const escapeXml = (text: string) =>
  text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

export function junitReport(results: readonly CaseResult[]): string {
  const bySuite = new Map<string, CaseResult[]>();
  for (const r of results) bySuite.set(r.file, [...(bySuite.get(r.file) ?? []), r]);
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const failed = results.filter((r) => !r.passed).length;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="bulwark test" tests="${results.length}" failures="${failed}">`,
  ];
  for (const [file, cases] of bySuite) {
    const time = cases.reduce((t, c) => t + c.durationMs, 0);
    const suiteFailures = cases.filter((c) => !c.passed).length;
    out.push(
      `  <testsuite name="${escapeXml(cases[0]!.suite)}" file="${escapeXml(file)}" tests="${cases.length}" ` +
        `failures="${suiteFailures}" time="${seconds(time)}">`,
    );
    for (const c of cases) {
      const open =
        `    <testcase classname="${escapeXml(file)}" name="${escapeXml(c.name)}" ` + `time="${seconds(c.durationMs)}"`;
      if (c.passed) out.push(`${open}/>`);
      else {
        const message = escapeXml(c.failures[0] ?? 'failed');
        out.push(`${open}>`, `      <failure message="${message}">${escapeXml(c.failures.join('\n'))}</failure>`);
        out.push('    </testcase>');
      }
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
