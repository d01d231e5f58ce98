// Shell completion as the shells run it: the generated script is sourced by a real bash,
// `complete -p` shows it registered, and the completion function offers the subcommands
// and options of the command tree for the words typed so far.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** What bash completes for `words` (the last one being typed) after sourcing `bin completion bash`. */
function complete(bin: string, program: string, words: string[]): { registered: string; offered: string[] } {
  const fn = `_${program.replace(/[^A-Za-z0-9]/g, '_')}_complete`;
  const script = [
    `source <("${process.execPath}" "${join(ROOT, 'bin', bin)}" completion bash) || exit 3`,
    `complete -p ${program}`,
    `COMP_WORDS=(${[program, ...words].map((w) => `'${w}'`).join(' ')})`,
    `COMP_CWORD=${words.length}`,
    fn,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's ${...}, not a template
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', timeout: 20_000 });
  expect(r.status, r.stderr).toBe(0);
  const [registered = '', ...offered] = r.stdout.trim().split('\n');
  return { registered, offered };
}

describe('bash completion', () => {
  it('registers for bulwark and completes subcommands, nested subcommands and options', () => {
    const top = complete('bulwark.js', 'bulwark', ['']);
    expect(top.registered).toBe('complete -o default -F _bulwark_complete bulwark');
    expect(top.offered).toEqual(expect.arrayContaining(['test', 'check', 'review', 'unlock', 'completion']));
    expect(complete('bulwark.js', 'bulwark', ['unlock', 're']).offered).toEqual(['request', 'reject', 'review']);
    expect(complete('bulwark.js', 'bulwark', ['test', '--ju']).offered).toEqual(['--junit-file']);
    expect(complete('bulwark.js', 'bulwark', ['check', '-f', 'x.yaml', '--sn']).offered).toEqual(['--snapshot']);
    expect(complete('bulwark.js', 'bulwark', ['unlock', 'request', '--re']).offered).toEqual(['--reason']);
  });

  it('works for the kubectl plugin entry too', () => {
    const r = complete('kubectl-bulwark.js', 'kubectl-bulwark', ['st']);
    expect(r.registered).toContain('kubectl-bulwark');
    expect(r.offered).toEqual(['status']);
  });

  it('prints zsh and fish scripts, and refuses another shell with exit 2', () => {
    const run = (shell: string) =>
      spawnSync(process.execPath, [join(ROOT, 'bin', 'bulwark.js'), 'completion', shell], { encoding: 'utf8' });
    expect(run('zsh').stdout).toContain('bashcompinit');
    expect(run('fish').stdout).toContain("complete -c bulwark -n '__fish_use_subcommand' -a 'serve review test");
    expect(run('tcsh').status).toBe(2);
    const version = spawnSync(process.execPath, [join(ROOT, 'bin', 'bulwark.js'), '--version'], { encoding: 'utf8' });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
