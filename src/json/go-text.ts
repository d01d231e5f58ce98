// How Go's encoding/json writes strings and orders map keys, for checking that a text is
// exactly what kubectl (or the apiserver) wrote: kubectl's last-applied annotation is
// `json.NewEncoder(w).Encode(map)`, which escapes HTML characters and sorts keys bytewise.

const HEX = '0123456789abcdef';

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

// Characters Go escapes, and lone surrogates (which Go, given invalid UTF-8, writes as \ufffd).
const GO_ESCAPED =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what Go escapes.
  /[\u0000-\u001f"\\<>&\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function unicodeEscape(code: number): string {
  return `\\u${HEX[(code >> 12) & 15]}${HEX[(code >> 8) & 15]}${HEX[(code >> 4) & 15]}${HEX[code & 15]}`;
}

/**
 * A string as Go's encoding/json writes it, without the quotes. `legacy`: as Go before
 * 1.22 did (\b and \f as \u0008 and \u000c), for annotations written by older kubectl.
 */
export function goQuote(value: string, legacy = false): string {
  return value.replace(GO_ESCAPED, (c) => {
    const code = c.charCodeAt(0);
    if (code >= 0xd800 && code <= 0xdfff) return '\\ufffd';
    if (legacy && (c === '\b' || c === '\f')) return unicodeEscape(code);
    return SHORT_ESCAPES[c] ?? unicodeEscape(code);
  });
}

/** Sort weight of a UTF-16 code unit that orders strings as their UTF-8 bytes do. */
function weight(code: number): number {
  if (code >= 0xd800 && code <= 0xdfff) return code + 0x2000; // 4-byte sequences sort after U+E000..U+FFFF
  if (code >= 0xe000) return code - 0x800;
  return code;
}

/** True when `a` sorts strictly before `b` in Go's (bytewise UTF-8) order. */
export function isGoSorted(a: string, b: string): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return weight(x) < weight(y);
  }
  return a.length < b.length;
}
