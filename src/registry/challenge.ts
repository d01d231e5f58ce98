// WWW-Authenticate challenges (RFC 7235) as registries send them:
//   Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"
// Parameter values may be quoted strings containing commas, so this is a small
// tokenizer rather than a split on ','.

export interface Challenge {
  /** Lower-cased: `bearer`, `basic`. */
  scheme: string;
  /** Parameter names lower-cased. */
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(', ') : (header as string);
  const challenges: Challenge[] = [];
  let i = 0;
  const skip = (): void => {
    while (i < text.length && /[\s,]/.test(text[i]!)) i++;
  };
  while (i < text.length) {
    skip();
    const scheme = TOKEN.exec(text.slice(i));
    if (!scheme) break;
    i += scheme[0].length;
    const challenge: Challenge = { scheme: scheme[0].toLowerCase(), params: {} };
    challenges.push(challenge);
    // Parameters: name=value pairs separated by commas, until the next scheme token
    // (a token not followed by '=').
    for (;;) {
      const save = i;
      skip();
      const name = TOKEN.exec(text.slice(i));
      if (!name) {
        i = save;
        break;
      }
      const after = i + name[0].length;
      let j = after;
      while (j < text.length && text[j] === ' ') j++;
      if (text[j] !== '=') {
        i = save;
        break;
      } // the next challenge's scheme
      j++;
      while (j < text.length && text[j] === ' ') j++;
      let value = '';
      if (text[j] === '"') {
        j++;
        while (j < text.length && text[j] !== '"') {
          if (text[j] === '\\' && j + 1 < text.length) j++;
          value += text[j];
          j++;
        }
        j++; // closing quote
      } else {
        const bare = /^[^\s,]*/.exec(text.slice(j))![0];
        value = bare;
        j += bare.length;
      }
      challenge.params[name[0].toLowerCase()] = value;
      i = j;
    }
  }
  return challenges;
}
