// Long expected messages as regular expressions, written in pieces that fit a line.

/** One regular expression whose source is the pieces' sources, in order (flags: the last piece's). */
export function joinedRegExp(...pieces: readonly RegExp[]): RegExp {
  return new RegExp(pieces.map((p) => p.source).join(''), pieces.at(-1)?.flags ?? '');
}
