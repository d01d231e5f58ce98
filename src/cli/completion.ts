// `bulwark completion bash|zsh|fish`: shell completion generated from the command tree
// itself (commander has none), so a new command or option completes without anyone
// editing a script. Completes subcommands and options; values (files, names) are left
// to the shell's default completion.

import type { Command } from 'commander';

interface Node {
  /** Words after the program name that lead here: `unlock request`. */
  path: string;
  subcommands: string[];
  options: string[];
}

function walk(command: Command, path: string[] = []): Node[] {
  const subcommands = command.commands.map((c) => c.name());
  const options = [...command.options.flatMap((o) => [o.short, o.long]), '--help'].filter(
    (o): o is string => typeof o === 'string',
  );
  return [
    { path: path.join(' '), subcommands, options },
    ...command.commands.flatMap((c) => walk(c, [...path, c.name()])),
  ];
}

const functionName = (program: string) => `_${program.replace(/[^A-Za-z0-9]/g, '_')}_complete`;

function bash(program: string, nodes: readonly Node[]): string {
  const fn = functionName(program);
  const cases = nodes
    .map((n) => `    ${JSON.stringify(n.path)}) echo ${JSON.stringify([...n.subcommands, ...n.options].join(' '))} ;;`)
    .join('\n');
  return [
    `# bash completion for ${program}: source <(${program} completion bash)`,
    `${fn}_words() {`,
    '  case "$1" in',
    cases,
    '  esac',
    '}',
    `${fn}() {`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's ${...}, not a template
    '  local cur="${COMP_WORDS[COMP_CWORD]}" path="" word i',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's ${...}, not a template
    '    word="${COMP_WORDS[i]}"',
    '    case "$word" in -*) continue ;; esac',
    `    case " $(${fn}_words "$path") " in *" $word "*) path="\${path:+$path }$word" ;; esac`,
    '  done',
    `  COMPREPLY=($(compgen -W "$(${fn}_words "$path")" -- "$cur"))`,
    '}',
    `complete -o default -F ${fn} ${program}`,
    '',
  ].join('\n');
}

function zsh(program: string, nodes: readonly Node[]): string {
  // zsh runs bash completion functions through bashcompinit, which ships with zsh.
  return [
    `#compdef ${program}`,
    `# zsh completion for ${program}: source <(${program} completion zsh)`,
    'autoload -U +X bashcompinit && bashcompinit',
    bash(program, nodes),
  ].join('\n');
}

function fish(program: string, nodes: readonly Node[]): string {
  const lines = [`# fish completion for ${program}: ${program} completion fish | source`, `complete -c ${program} -f`];
  for (const n of nodes) {
    const words = n.path.split(' ').filter(Boolean);
    const last = words.at(-1);
    // At the top level: no subcommand yet. Deeper: the last word of the path seen, and none of its children.
    const condition =
      last === undefined
        ? '__fish_use_subcommand'
        : `__fish_seen_subcommand_from ${last}` +
          (n.subcommands.length > 0 ? `; and not __fish_seen_subcommand_from ${n.subcommands.join(' ')}` : '');
    if (n.subcommands.length > 0)
      lines.push(`complete -c ${program} -n '${condition}' -a '${n.subcommands.join(' ')}'`);
    for (const option of n.options) {
      const flag = option.startsWith('--') ? `-l ${option.slice(2)}` : `-s ${option.slice(1)}`;
      lines.push(`complete -c ${program} -n '${condition}' ${flag}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

export function completionScript(program: Command, shell: Shell, name = program.name()): string {
  const nodes = walk(program);
  return shell === 'bash' ? bash(name, nodes) : shell === 'zsh' ? zsh(name, nodes) : fish(name, nodes);
}

export function registerCompletion(program: Command, name: string, setExitCode: (code: number) => void): void {
  program
    .command('completion')
    .description('print a shell completion script: source <(bulwark completion bash)')
    .argument('<shell>', SHELLS.join(', '))
    .action((shell: string) => {
      if (!(SHELLS as readonly string[]).includes(shell)) {
        process.stderr.write(`error: completion: shell must be one of ${SHELLS.join(', ')}\n`);
        setExitCode(2);
        return;
      }
      process.stdout.write(completionScript(program, shell as Shell, name));
    });
}
