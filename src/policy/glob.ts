// Globs compiled once into anchored regular expressions. `*` and `?` stay within one
// path segment (no `/`), `**` crosses segments; everything else is literal.

export interface CompiledGlob {
  source: string;
  regex: RegExp;
  /** The literal text before the first wildcard: used to index policies. */
  literalPrefix: string;
}

const GLOB_CHARS = /^[A-Za-z0-9._\-/:@*?]+$/;

export function globProblem(glob: string): string | undefined {
  if (glob.length === 0) return 'must not be empty';
  if (!GLOB_CHARS.test(glob)) return 'may contain only letters, digits, . _ - / : @ and the wildcards * ** ?';
  if (/\*{3,}/.test(glob)) return 'has more than two * in a row';
  return undefined;
}

export function compileGlob(glob: string): CompiledGlob {
  let pattern = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      pattern += '.*';
      i++;
    } else if (c === '*') pattern += '[^/]*';
    else if (c === '?') pattern += '[^/]';
    else pattern += c.replace(/[.\-/:@]/g, (m) => `\\${m}`);
  }
  const wildcard = glob.search(/[*?]/);
  return {
    source: glob,
    regex: new RegExp(`^${pattern}$`),
    literalPrefix: wildcard < 0 ? glob : glob.slice(0, wildcard),
  };
}
